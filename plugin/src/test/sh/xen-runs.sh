#!/bin/bash
# make test-xen-runs RUNS=N: runs the Xen part of make test (make xen-suite) N times in a row and prints, per run, its
# result, its time and what failed (the first line of each failing test's message: a crash signature from the
# console, a stage that timed out, or an assertion). This is how README's pass rate of the Xen tests is measured. Logs: target/xen-runs/.
set -u
runs=${1:-10}
out=target/xen-runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
passed=0
for i in $(seq 1 "$runs"); do
    start=$(date +%s)
    make xen-suite XEN_ARGS="${XEN_ARGS:-}" >"$out/run-$i.log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        result="pass"
    else
        result="FAIL"
    fi
    tests=$(grep -ho 'Tests run: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' "$out/run-$i.log" | grep -v 'Tests run: 0' \
        | sed 's/Tests run: //; s/, Failures: /\//; s/, Errors: /\//' | paste -sd' ')
    printf 'run %2d  %s  %4d s  tests (run/failed/errors): %s\n' "$i" "$result" "$took" "$tests" | tee -a "$out/summary.txt"
    if [ "$rc" -ne 0 ]; then
        # each failing test case and the first line of its message, from the surefire reports of this run
        for report in plugin/target/surefire-reports/TEST-*Xen*.xml src/target/surefire-reports/TEST-*Xen*.xml; do
            [ -f "$report" ] && [ "$(stat -c %Y "$report")" -ge "$start" ] || continue
            python3 - "$report" <<'EOF' | tee -a "$out/summary.txt"
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).getroot().iter('testcase'):
    for bad in list(case.findall('failure')) + list(case.findall('error')):
        first = (bad.get('message') or bad.text or '').strip().splitlines()
        print('        %s: %s' % (case.get('name'), first[0][:240] if first else '(no message)'))
EOF
        done
    fi
done
echo "passed $passed of $runs runs; logs in $out" | tee -a "$out/summary.txt"
[ "$passed" -eq "$runs" ]
