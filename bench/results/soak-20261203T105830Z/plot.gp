set terminal pngcairo size 1100,760 noenhanced font ",10"
set output "/work/main/bench/results/soak-20261203T105830Z/rss-handles.png"
set datafile separator ","
set datafile missing ""
set xrange [0:31]
set multiplot layout 2,1 title "janus.plugin.sfu soak: 1800 s"
set arrow 1 from 5,graph 0 to 5,graph 1 nohead dt 2 lc rgb "gray"
set label 1 "warm-up end" at 5,graph 0.97 offset 0.3,0 font ",8" tc rgb "gray40"
set arrow 2 from 3,graph 0 to 3,graph 1 nohead dt 2 lc rgb "gray"
set label 2 "flood" at 3,graph 0.97 offset 0.3,0 font ",8" tc rgb "gray40"
set arrow 3 from 24.000016666666667,graph 0 to 24.000016666666667,graph 1 nohead dt 2 lc rgb "gray"
set label 3 "Janus restart" at 24.000016666666667,graph 0.97 offset 0.3,0 font ",8" tc rgb "gray40"
set grid
set key outside bottom center horizontal
set xlabel "minutes"
set ylabel "Janus RSS (MiB)"
set y2label "live handles"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "/work/main/bench/results/soak-20261203T105830Z/samples.csv" every ::1 using ($1/60):($4/1024) axes x1y1 with lines lw 2 title "Janus RSS", \
  "" every ::1 using ($1/60):13 axes x1y2 with lines title "Janus handles (admin API)", \
  "" every ::1 using ($1/60):16 axes x1y2 with lines title "plugin handles (list_participants)"
set ylabel "Janus CPU (% of one core)"
set y2label "stable one-way delay p99 (ms)"
plot "" every ::1 using ($1/60):5 axes x1y1 with lines title "Janus CPU", \
  "" every ::1 using ($1/60):22 axes x1y2 with lines title "stable delay p99 (1 s intervals)"
unset multiplot
