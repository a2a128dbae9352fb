#!/bin/bash
# kafka-run-class.sh MAINCLASS ARGS...: as Apache Kafka's, on the jars of this image.
exec java ${KAFKA_HEAP_OPTS:-} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} \
  -Dlog4j2.configurationFile="${KAFKA_LOG4J_CONFIG:-/opt/kafka/config/log4j2.xml}" \
  -cp '/opt/kafka/libs/*' "$@"
