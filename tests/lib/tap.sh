# TAP for the shell tests (sourced): `check NUMBER DESCRIPTION GOT EXPECTED` prints one test line
# (with what differed) and counts the failures in $failures.
failures=0
check() {
    if [ "$3" = "$4" ]; then
        echo "ok $1 - $2"
    else
        echo "not ok $1 - $2"
        printf '#   got:      %s\n#   expected: %s\n' "$3" "$4"
        failures=$((failures + 1))
    fi
}
