#!/usr/bin/env bash
# Starts Apache RocketMQ's own name server (4.9.7, from Maven Central) standalone, for
# side-by-side runs and benchmarks against ours.
#
#   interop/apache-namesrv.sh PORT [--key value]...
#   interop/apache-namesrv.sh --listenPort N [--kvConfigPath FILE] [--key value]...
#
# The second form has the same command-line contract as our mqnamesrv (port 0 = ephemeral,
# prints "... listening on 127.0.0.1:PORT", stops on SIGTERM), so RMQ_NAMESRV_BIN may point
# here to run the interop suites against Apache. Heap: -Xmx256m (override with JAVA_OPTS).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAVA_DIR="$HERE/java"
CP_FILE="$JAVA_DIR/target/classpath.txt"

# compile the helper and record the dependency classpath once, again when sources change
if [ ! -f "$CP_FILE" ] || [ ! -f "$JAVA_DIR/target/classes/rmq/interop/ApacheNamesrvMain.class" ] \
   || [ -n "$(find "$JAVA_DIR/src/main" "$JAVA_DIR/src/shared" "$JAVA_DIR/pom.xml" -newer "$CP_FILE" -print -quit)" ]; then
  (cd "$JAVA_DIR" && mvn -B -q -ntp -Dstyle.color=never compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) >&2
fi

if [ $# -ge 1 ] && [[ "$1" != --* ]]; then
  port="$1"
  shift
  set -- --listenPort "$port" "$@"
fi
if [ $# -eq 0 ]; then
  set -- --listenPort 9876
fi

exec java -Xmx256m -Xms64m ${JAVA_OPTS:-} -cp "$JAVA_DIR/target/classes:$(cat "$CP_FILE")" \
  rmq.interop.ApacheNamesrvMain "$@"
