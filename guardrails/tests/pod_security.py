"""The Pod Security Standards' `restricted` profile as a checker of a pod spec, written from
https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the checks Pod Security
Admission runs at `restricted`, latest). Returns the violated checks, [] when the pod passes.
No real admission runs here; this is the published rule list, check by check."""

from __future__ import annotations

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip


def restricted_violations(spec: dict) -> list[str]:
    containers = [
        *spec.get("containers", []),
        *spec.get("initContainers", []),
        *spec.get("ephemeralContainers", []),
    ]
    pod_sc = spec.get("securityContext") or {}
    out = []
    # baseline
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"host namespaces: {field}")
    for c in containers:
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append(f"privileged: {c['name']}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"hostProcess: {c['name']}")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(f"hostPort: {c['name']}")
        if sc.get("procMount", "Default") != "Default":
            out.append(f"procMount: {c['name']}")
        # restricted
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"allowPrivilegeEscalation != false: {c['name']}")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"capabilities.drop lacks ALL: {c['name']}")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"capabilities.add: {c['name']}")
        if set(caps.get("add") or []) - BASELINE_CAPABILITIES:
            out.append(f"capabilities.add beyond baseline: {c['name']}")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"runAsNonRoot != true: {c['name']}")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            out.append(f"runAsUser 0: {c['name']}")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"seccompProfile not RuntimeDefault/Localhost: {c['name']}")
    if pod_sc.get("runAsUser") == 0:
        out.append("runAsUser 0: pod")
    for volume in spec.get("volumes") or []:
        types = set(volume) - {"name"}
        if not types <= RESTRICTED_VOLUME_TYPES:
            out.append(f"volume type: {volume['name']} ({', '.join(sorted(types))})")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl["name"] not in SAFE_SYSCTLS:
            out.append(f"sysctl: {sysctl['name']}")
    return out
