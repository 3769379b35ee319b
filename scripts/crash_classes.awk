# crash_classes.awk - sums the crash suites' `crash-class LABEL CLASS N R`
# lines (tests/crash_classes.h) into one table: for every class (the
# operation a crash landed after and what its line held), the points per
# protocol, and how many of them let a random half of the unpersisted lines
# survive. Other lines pass through untouched, so this filters a log.
$1 == "crash-class" {
    split($2, lab, ":"); p = lab[1]
    cls[$3] = 1; prot[p] = 1
    n[$3, p] += $4 + $5; r[$3, p] += $5; tot[p] += $4 + $5; rall += $5; all += $4 + $5
    next
}
END {
    if (all == 0) { print "crash classes: no crash-class lines seen"; exit 1 }
    np = 0; for (p in prot) order[++np] = p
    for (i = 1; i <= np; i++) for (j = i + 1; j <= np; j++)
        if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
    printf "\ncrash points by class (each: points, of which with random survivors)\n"
    printf "%-16s", "class"; for (i = 1; i <= np; i++) printf " %18s", order[i]; printf "\n"
    nc = 0; for (c in cls) corder[++nc] = c
    for (i = 1; i <= nc; i++) for (j = i + 1; j <= nc; j++)
        if (corder[j] < corder[i]) { t = corder[i]; corder[i] = corder[j]; corder[j] = t }
    for (k = 1; k <= nc; k++) {
        c = corder[k]; printf "%-16s", c
        for (i = 1; i <= np; i++) printf " %18s", sprintf("%d (%d)", n[c, order[i]], r[c, order[i]])
        printf "\n"
    }
    printf "%-16s", "all"; for (i = 1; i <= np; i++) printf " %18d", tot[order[i]]; printf "\n"
    printf "crash points recovered: %d (%d with random survivors)\n", all, rall
}
