#!/usr/bin/env bash
# The stack without Docker: write into DIR the configuration files that docker-compose.yml
# mounts (deploy/mosquitto, deploy/prometheus, grafana/provisioning), with the container paths,
# host names and ports rewritten for servers on this machine, and print how to start them.
#
#   deploy/native.sh DIR
#   MQTT_PORT=1883 SERVICE=127.0.0.1:8080 PROMETHEUS=127.0.0.1:9090 deploy/native.sh DIR
#
# Prometheus scrapes the service's /metrics with AKSSIM_API_TOKEN (generated when unset, and
# written to DIR/prometheus/akssim_api_token for the service to start with).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: [MQTT_PORT=N] [SERVICE=HOST:PORT] [PROMETHEUS=HOST:PORT] $0 DIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
mqtt_port=${MQTT_PORT:-1883}
service=${SERVICE:-127.0.0.1:8080}
prometheus=${PROMETHEUS:-127.0.0.1:9090}

mkdir -p "$dir/mosquitto/data" "$dir/prometheus" "$dir/grafana/provisioning/datasources" \
         "$dir/grafana/provisioning/dashboards"
cp "$repo/deploy/mosquitto/acl" "$repo/deploy/mosquitto/passwd" "$dir/mosquitto/"
# a broker started as root drops to this user (it must read the files and write data/)
sed -e "s#^listener 1883 0\.0\.0\.0\$#listener $mqtt_port 127.0.0.1#" \
    -e "s# /mosquitto/config/# $dir/mosquitto/#" -e "s# /mosquitto/data/# $dir/mosquitto/data/#" \
    "$repo/deploy/mosquitto/mosquitto.conf" > "$dir/mosquitto/mosquitto.conf"
echo "user $(id -un)" >> "$dir/mosquitto/mosquitto.conf"

cp "$repo/deploy/prometheus/rules.yml" "$dir/prometheus/"
# Prometheus scrapes /metrics with the service's token (a file only this user can read)
token=${AKSSIM_API_TOKEN:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}
(umask 077 && printf '%s' "$token" > "$dir/prometheus/akssim_api_token")
sed -e "s#\"simsvc:8080\"#\"$service\"#" \
    -e "s# /run/secrets/akssim_api_token# $dir/prometheus/akssim_api_token#" \
    "$repo/deploy/prometheus/prometheus.yml" > "$dir/prometheus/prometheus.yml"

sed -e "s#http://prometheus:9090#http://$prometheus#" \
    "$repo/grafana/provisioning/datasources/prometheus.yaml" \
    > "$dir/grafana/provisioning/datasources/prometheus.yaml"
sed -e "s#/etc/grafana/dashboards#$repo/grafana/dashboards#" \
    "$repo/grafana/provisioning/dashboards/dashboards.yaml" \
    > "$dir/grafana/provisioning/dashboards/dashboards.yaml"

cat <<EOT
mosquitto -c $dir/mosquitto/mosquitto.conf &
prometheus --config.file=$dir/prometheus/prometheus.yml --storage.tsdb.path=$dir/prometheus/data --web.listen-address=$prometheus &
AKSSIM_API_TOKEN=\$(cat $dir/prometheus/akssim_api_token) AKSSIM_MQTT=mqtt://127.0.0.1:$mqtt_port AKSSIM_MQTT_USERNAME=akssim AKSSIM_MQTT_PASSWORD=akssim-dev aks-sim serve --host ${service%:*} --port ${service##*:} &
# Grafana, if you have one: GF_PATHS_PROVISIONING=$dir/grafana/provisioning grafana server
EOT
