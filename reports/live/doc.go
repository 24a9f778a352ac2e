// Package live exports a running load test's live state as Prometheus
// metrics: a collector over the shards' reports.LiveView (one for a single
// process, one per worker or shard otherwise, labelled shard="I/N"), the
// HTTP server behind ssebench run --metrics-addr, and a Grafana dashboard
// built on the metric names.
//
// # Metrics
//
// Every name starts with ssebench_; times are in seconds. Gauges: the
// run's info (plan id, target origin, version), its start time, and per
// shard the elapsed time, whether it is done, the streams open now and the
// schedule lag p99. Counters (_total): streams started, ok, failed (by
// class and HTTP status), aborted, cancelled, reconnected; attempts and
// failed attempts (by class); reconnects, events, content events, tokens,
// received bytes, comments, event ids lost and duplicated, redirects,
// dropped arrivals, and attempts by Content-Encoding. Histograms: one per
// latency metric, ssebench_<metric>_seconds (ttft, ttfb, ttfe, gap, itl,
// e2e, tpot, connect, queue, ttft_sched, e2e_sched, resume_gap). Catalogue
// lists them all with their labels.
//
// # Histograms
//
// A shard's histograms are its cumulative HdrHistograms (1 µs .. 1 h, 3
// significant digits). Each is exported in two forms at once, as
// client_golang's own Histogram does when it has both: native buckets of
// schema 5 (NativeSchema: 32 buckets per power of two, 2.2 % wide) and
// the classic buckets ClassicBuckets (100 µs .. 1 h). Every HdrHistogram
// bucket's count goes whole to the native and the classic bucket that hold
// the middle of its range, and the sum is the sum of those middles, so the
// count is exact and the sum is exact to HdrHistogram's resolution.
//
// # Costs and bounds
//
// The collector holds nothing of its own: each scrape asks for the views
// (a copy of every cumulative histogram, about 190 KB each) and converts
// them, O(shards × metrics × buckets). At most 4 scrapes are answered at
// once (more get 503); a scrape's request must arrive within 10 s and its
// answer be sent within 30 s.
package live
