#!/bin/bash
# apache/kafka's interface, for the image built here: every KAFKA_* variable is a broker setting
# (KAFKA_FOO_BAR -> foo.bar; "__" -> "_", "___" -> "-"), the storage is formatted on the first start
# with CLUSTER_ID, then the broker runs in the foreground.
set -euo pipefail
props=/opt/kafka/config/server.properties
not_settings=" KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_OPTS KAFKA_LOG4J_CONFIG KAFKA_TOOLS_HEAP_OPTS "
{
  echo "# Written by docker-entrypoint.sh from the KAFKA_* variables."
  for name in $(compgen -e | grep '^KAFKA_' || true); do
    [[ "$not_settings" == *" $name "* ]] && continue
    key=${name#KAFKA_}
    key=${key,,}
    key=${key//___/-}
    key=${key//__/$'\x01'}
    key=${key//_/.}
    key=${key//$'\x01'/_}
    echo "$key=${!name}"
  done
} >"$props"
grep -q '^log.dirs=' "$props" || echo "log.dirs=/var/lib/kafka/data" >>"$props"
log_dirs=$(sed -n 's/^log.dirs=//p' "$props")
if [ ! -f "${log_dirs%%,*}/meta.properties" ]; then
  # apache/kafka's default cluster id, so that a volume moves between the two images.
  /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$props"
fi
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
exec /opt/kafka/bin/kafka-server-start.sh "$props"
