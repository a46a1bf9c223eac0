#!/bin/sh
# plot.sh - scaling.png from a results folder's scaling.dat (gnuplot-nox)
#
#   sh bench/plot.sh bench/results/<date>
set -eu
dir=$1
[ -s "$dir/scaling.dat" ] || { echo "plot.sh: no $dir/scaling.dat" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 1000,420 noenhanced font ",10"
set output "$dir/scaling.png"
set multiplot layout 1,2 title "One publisher to S subscribers: janus.plugin.sfu vs VideoRoom"
set logscale x 2
set xlabel "subscribers S"
set grid
set key top right
set ylabel "Janus CPU us per forwarded packet"
set yrange [0:*]
plot "$dir/scaling.dat" using 1:2 with linespoints lw 2 title "janus.plugin.sfu", \
     "" using 1:3 with linespoints lw 2 title "VideoRoom"
set ylabel "one-way delay p99 (ms)"
plot "$dir/scaling.dat" using 1:4 with linespoints lw 2 title "janus.plugin.sfu", \
     "" using 1:5 with linespoints lw 2 title "VideoRoom"
unset multiplot
EOF
