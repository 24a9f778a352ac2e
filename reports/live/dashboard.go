package live

import _ "embed"

//go:embed grafana-dashboard.json
var dashboard []byte

// Dashboard returns the Grafana dashboard built on these metrics (JSON,
// for Grafana's "Import dashboard"): streams active, stream outcomes,
// event and token rates, failures by class, and ttft, itl, gap and e2e
// quantiles (histogram_quantile over the native histograms, or over the
// classic buckets when Prometheus keeps only those). Its data source is a
// dashboard variable, chosen on import; a shard variable filters shards.
// The same JSON is the file grafana-dashboard.json in this package's
// directory, and the metrics server serves it at DashboardPath.
func Dashboard() []byte { return append([]byte(nil), dashboard...) }
