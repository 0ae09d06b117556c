"""Exactly one Celery beat at a time: a scheduler that only schedules while it holds a lease.

Every `celery beat` (and `worker -B`) runs LeaderScheduler (settings.CELERY_BEAT_SCHEDULER). On
each tick it takes or renews a Redis lock (SET NX with a TTL, PORTAL_BEAT_LOCK_TTL_SECONDS); the
others stay standby and retry every third of the TTL. The leader renews at the same pace, so
a leader that dies is replaced within about one TTL, and one that stops cleanly (SIGTERM in a
rolling update) releases the lock and is replaced within a third of it.

When the lease changes hands the new leader takes the last-run times the old one recorded in
Redis, so a periodic task is neither repeated nor skipped at the handover. A beat that cannot
reach Redis does not schedule: it could not publish anyway, and it cannot prove it leads.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

import redis
from celery.beat import PersistentScheduler
from django.conf import settings
from redis.exceptions import LockError, LockNotOwnedError, RedisError

log = logging.getLogger(__name__)


class LeaderScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs):
        self.lease_key = settings.PORTAL_BEAT_LOCK_KEY
        self.lease_ttl = float(settings.PORTAL_BEAT_LOCK_TTL_SECONDS)
        self.last_run_key = f"{self.lease_key}:last-run"
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.is_leader = False
        self._redis = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=self.lease_ttl / 3,
            socket_timeout=self.lease_ttl / 3,
        )
        self._lease = self._redis.lock(self.lease_key, timeout=self.lease_ttl, thread_local=False)
        super().__init__(*args, **kwargs)

    @property
    def renew_interval(self) -> float:
        return self.lease_ttl / 3

    def tick(self, *args, **kwargs) -> float:
        if not self._hold_lease():
            return self.renew_interval
        return min(super().tick(*args, **kwargs), self.renew_interval)

    def _hold_lease(self) -> bool:
        try:
            if self.is_leader:
                try:
                    self._lease.reacquire()
                    return True
                except LockNotOwnedError:
                    self.is_leader = False
                    log.warning("beat %s lost the scheduler lease; standing by", self.identity)
            if self._lease.acquire(blocking=False):
                self.is_leader = True
                self._take_over_last_runs()
                log.info("beat %s holds the scheduler lease: scheduling", self.identity)
                return True
        except RedisError as exc:
            log.warning("beat %s cannot reach Redis (%s): not scheduling", self.identity, exc)
        return False

    def _take_over_last_runs(self) -> None:
        """Adopt the previous leader's last-run times for entries it ran more recently."""
        recorded = self._redis.hgetall(self.last_run_key)
        for raw_name, raw_when in recorded.items():
            entry = self.schedule.get(raw_name.decode())
            if entry is None:
                continue
            when = datetime.fromisoformat(raw_when.decode())
            if entry.last_run_at is None or when > entry.last_run_at:
                entry.last_run_at = when
        self._heap = None  # rebuild the run order from the adopted times

    def reserve(self, entry):
        new_entry = super().reserve(entry)
        try:
            self._redis.hset(self.last_run_key, entry.name, new_entry.last_run_at.isoformat())
        except RedisError as exc:  # the send itself will fail too and be logged by beat
            log.warning("beat could not record the last run of %s: %s", entry.name, exc)
        return new_entry

    def close(self):
        if self.is_leader:
            try:
                self._lease.release()
                log.info("beat %s released the scheduler lease", self.identity)
            except (LockError, RedisError):
                pass  # expired or unreachable: the TTL frees it
            self.is_leader = False
        super().close()
        self._redis.close()
