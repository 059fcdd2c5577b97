# bench/plot.gp -- throughput by clients for the five main variants, one panel
# per synchronous_commit setting.  scripts/bench.sh calls it with
#   gnuplot -e "datafile='...'; outfile='...'; syncs='off'; clients='1 2'" bench/plot.gp
# datafile: one block per (sync, variant), in the order of syncs and of
# farmreg, plpgsql_simple, plpgsql, client_tx, floor; lines
# "clients median min max".

nvariants = 5
npanels = words(syncs)
nclients = words(clients)
maxclients = word(clients, nclients) + 0
title_of(v) = v == 1 ? "farmreg" : v == 2 ? "simplest PL/pgSQL" : v == 3 ? "fuller PL/pgSQL peer" : v == 4 ? "client-side tx" : "floor (one CTE)"
colors = "#1b9e77 #e7298a #d95f02 #7570b3 #666666"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size (560 * npanels + 80), 580 font "sans,11" linewidth 1.5
} else {
    set terminal png size (560 * npanels + 80), 580
}
set output outfile

set multiplot layout 1, npanels title "farmreg make bench: registrations per second (median of the rounds; bars: min-max)" font ",13"
set xrange [0.6:maxclients + 0.4]
set xtics ()
do for [c = 1:nclients] {
    set xtics add (word(clients, c) word(clients, c) + 0)
}
set xlabel "pgbench clients"
set ylabel "registrations / s"
set yrange [0:*]
set grid ytics
set key outside bottom center horizontal maxrows 2 samplen 2

do for [p = 1:npanels] {
    set title sprintf("synchronous\\_commit = %s", word(syncs, p))
    # each variant a little to the side, so the bars do not hide each other
    plot for [v = 1:nvariants] datafile index ((p - 1) * nvariants + v - 1) \
        using ($1 + 0.05 * (v - 3)):2:3:4 with yerrorlines lw 2 pt 7 ps 1.2 lc rgb word(colors, v) \
        title title_of(v)
}
unset multiplot
