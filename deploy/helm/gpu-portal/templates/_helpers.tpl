{{/* Chart name, truncated to 63 characters (DNS-1123 label). */}}
{{- define "gpu-portal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; component suffixes stay within 63 characters. */}}
{{- define "gpu-portal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gpu-portal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gpu-portal.labels" -}}
helm.sh/chart: {{ include "gpu-portal.chart" . }}
app.kubernetes.io/name: {{ include "gpu-portal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gpu-portal
{{- end }}

{{/* Selector labels of one component: pass (dict "root" $ "component" "web"). */}}
{{- define "gpu-portal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gpu-portal.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gpu-portal.componentLabels" -}}
{{ include "gpu-portal.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gpu-portal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gpu-portal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gpu-portal.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* One secretKeyRef env entry: (dict "root" $ "env" "SECRET_KEY" "ref" .Values.secrets.secretKey) */}}
{{- define "gpu-portal.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ default .root.Values.secrets.existingSecret .ref.name | required (printf "secrets.existingSecret or a name for %s is required" .env) }}
      key: {{ .ref.key }}
{{- end }}

{{/* Environment of every portal container. */}}
{{- define "gpu-portal.env" -}}
- name: DEBUG
  value: "0"
- name: ALLOWED_HOSTS
  value: {{ .Values.config.allowedHosts | quote }}
{{- with .Values.config.csrfTrustedOrigins }}
- name: CSRF_TRUSTED_ORIGINS
  value: {{ . | quote }}
{{- end }}
- name: SECURE_SSL_REDIRECT
  value: {{ ternary "1" "0" .Values.config.secureSslRedirect | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: PORTAL_CELERY_QUEUE
  value: {{ .Values.config.celeryQueue | quote }}
- name: PORTAL_GITOPS_ROOT
  value: {{ .Values.gitops.path | quote }}
- name: HOME
  value: /tmp
{{ include "gpu-portal.secretEnv" (dict "root" . "env" "SECRET_KEY" "ref" .Values.secrets.secretKey) }}
{{ include "gpu-portal.secretEnv" (dict "root" . "env" "PORTAL_ENCRYPTION_KEY" "ref" .Values.secrets.encryptionKey) }}
{{ include "gpu-portal.secretEnv" (dict "root" . "env" "DATABASE_URL" "ref" .Values.secrets.databaseUrl) }}
{{ include "gpu-portal.secretEnv" (dict "root" . "env" "REDIS_URL" "ref" .Values.secrets.redisUrl) }}
{{- if .Values.secrets.metricsToken.name }}
{{ include "gpu-portal.secretEnv" (dict "root" . "env" "PORTAL_METRICS_TOKEN" "ref" .Values.secrets.metricsToken) }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Container-level fields shared by every portal container. */}}
{{- define "gpu-portal.containerCommon" -}}
image: {{ include "gpu-portal.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
env:
  {{- include "gpu-portal.env" . | nindent 2 }}
{{- with .Values.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by every portal pod. */}}
{{- define "gpu-portal.podCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "gpu-portal.gitopsClaim" -}}
{{- default (printf "%s-gitops" (include "gpu-portal.fullname" .)) .Values.gitops.persistence.existingClaim }}
{{- end }}

{{/* Volumes: /tmp (read-only root filesystem) and, with `gitops`, the repositories. */}}
{{- define "gpu-portal.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSizeLimit }}
{{- if .gitops }}
- name: gitops
{{- if .root.Values.gitops.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "gpu-portal.gitopsClaim" .root }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}
{{- end }}

{{- define "gpu-portal.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .gitops }}
- name: gitops
  mountPath: {{ .root.Values.gitops.path }}
{{- end }}
{{- end }}

{{/* An HTTP probe on the web port; (dict "root" $ "path" "/healthz" "timing" .Values.web.livenessProbe) */}}
{{- define "gpu-portal.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
  httpHeaders:
    # as the Ingress sends it, so secureSslRedirect does not answer probes with a redirect
    - name: X-Forwarded-Proto
      value: https
  {{- $host := splitList "," .root.Values.config.allowedHosts | first | trim }}
  {{- if and $host (ne $host "*") }}
    - name: Host
      value: {{ trimPrefix "." $host | quote }}
  {{- end }}
{{ toYaml .timing }}
{{- end }}
