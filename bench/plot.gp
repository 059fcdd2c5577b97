# bench/plot.gp -- throughput by clients for the four variants, one panel per
# synchronous_commit setting.  scripts/bench.sh calls it with
#   gnuplot -e "datafile='...'; outfile='...'; syncs='on off'" bench/plot.gp
# datafile: one block per (sync, variant), in the order of syncs and of
# farmreg, plpgsql, client_tx, floor; lines "clients median min max".

nvariants = 4
npanels = words(syncs)
title_of(v) = v == 1 ? "farmreg" : v == 2 ? "PL/pgSQL peer" : v == 3 ? "client-side tx" : "floor (one CTE)"
colors = "#1b9e77 #d95f02 #7570b3 #666666"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size (560 * npanels + 80), 580 font "sans,11" linewidth 1.5
} else {
    set terminal png size (560 * npanels + 80), 580
}
set output outfile

set multiplot layout 1, npanels title "farmreg make bench: registrations per second (median of the rounds; bars: min-max)" font ",13"
set xrange [0.6:4.4]
set xtics ("1" 1, "2" 2, "4" 4)
set xlabel "pgbench clients"
set ylabel "registrations / s"
set yrange [0:*]
set grid ytics
set key outside bottom center horizontal maxrows 2 samplen 2

do for [p = 1:npanels] {
    set title sprintf("synchronous\\_commit = %s", word(syncs, p))
    # each variant a little to the side, so the bars do not hide each other
    plot for [v = 1:nvariants] datafile index ((p - 1) * nvariants + v - 1) \
        using ($1 + 0.05 * (v - 2.5)):2:3:4 with yerrorlines lw 2 pt 7 ps 1.2 lc rgb word(colors, v) \
        title title_of(v)
}
unset multiplot
