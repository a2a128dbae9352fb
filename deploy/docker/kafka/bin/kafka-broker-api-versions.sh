#!/bin/bash
# As Apache Kafka's kafka-broker-api-versions.sh.
KAFKA_HEAP_OPTS=${KAFKA_TOOLS_HEAP_OPTS:--Xmx128m} KAFKA_JVM_PERFORMANCE_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1" KAFKA_LOG4J_CONFIG=/opt/kafka/config/tools-log4j2.xml exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
