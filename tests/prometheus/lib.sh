# shellcheck shell=bash
# Real node_exporter and prometheus for the tests, on 127.0.0.1 and free
# ports, stopped by prom_stop (call it from the caller's EXIT trap). Needs
# $tmp (tests/host/lib.sh). Sets node_port and prom_port.
#   prom_start TEXTFILE_DIR [RULES]  node_exporter's textfile collector on
#                                    the directory, a prometheus scraping it
#                                    every second (evaluating RULES)
#   prom_scraped                     the kvmlock series reached prometheus
#   prom_query LABEL EXPR            PromQL: "labelvalue=value" per series,
#                                    sorted
#   prom_wait_for TENTHS CMD...      polls until CMD succeeds
#   prom_lint FILE NAME              promtool check metrics accepts FILE
#                                    without a lint message (ok/not_ok)
#   prom_missing TOOL...             the tools that are not there
#
# Prometheus's tools are those make deps unpacked into the cache
# (scripts/deps.sh, linked as $BUILD/deps/prometheus), first on PATH; the
# machine's own, if it has any, do not count.
PROM_BIN=$BUILD/deps/prometheus/usr/bin
PATH=$PROM_BIN:$PATH
prom_daemons=()

prom_missing() {
	local t out=''
	for t; do
		case $t in
		promtool | prometheus | prometheus-node-exporter)
			[ -x "$PROM_BIN/$t" ] || out="$out $t"
			;;
		*) command -v "$t" >/dev/null || out="$out $t" ;;
		esac
	done
	echo "$out"
}

prom_stop() {
	local p
	for p in "${prom_daemons[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	prom_daemons=()
}

prom_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

prom_wait_for() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

prom_query() {
	curl -sf --get "http://127.0.0.1:$prom_port/api/v1/query" \
		--data-urlencode "query=$2" |
		jq -r --arg l "$1" '.data.result[] | "\(.metric[$l] // "")=\(.value[1])"' | sort
}

prom_scraped() { [ "$(prom_query version kvmlock_exporter_build_info 2>/dev/null)" = "0.1=1" ]; }

prom_start() {
	local dir=$1 rules=${2:-}
	mkdir -p "$tmp/tsdb"
	node_port=$(prom_free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$dir" >"$tmp/node.log" 2>&1 &
	prom_daemons+=($!)
	prom_port=$(prom_free_port)
	cat >"$tmp/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
${rules:+rule_files:
  - $rules}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$node_port']
EOC
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
		--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
	prom_daemons+=($!)
}

prom_lint() {
	local out rc
	out=$(promtool check metrics <"$1" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "promtool check metrics: $2, no lint message"
	else
		not_ok "promtool check metrics: $2 (exit $rc)" "$out"
	fi
}
