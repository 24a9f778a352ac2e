package live

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// dashboardJSON is the part of a Grafana dashboard the tests read.
type dashboardJSON struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int            `json:"id"`
		Title      string         `json:"title"`
		Type       string         `json:"type"`
		Datasource *datasourceRef `json:"datasource"`
		Targets    []struct {
			RefID      string         `json:"refId"`
			Expr       string         `json:"expr"`
			Datasource *datasourceRef `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// promqlNoise are the parts of an expression that are not metric names:
// strings, label matchers, range and subquery windows.
var promqlNoise = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]`)

// promqlGroup is a by/without/on/ignoring label list.
var promqlGroup = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)

// promqlNumber is a number or a duration (0.99, 1e-3, 5m, 1h30m).
var promqlNumber = regexp.MustCompile(`\b\d[\w.]*`)

// promqlIdent is an identifier, and a "(" after it when it is a function.
var promqlIdent = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?`)

var promqlKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
	"offset", "and", "or", "unless", "inf", "nan", "atan2"}

// metricNames returns the metric names an expression selects.
func metricNames(expr string) []string {
	e := promqlNoise.ReplaceAllString(expr, " ")
	e = promqlNumber.ReplaceAllString(promqlGroup.ReplaceAllString(e, " "), " ")
	var names []string
	for _, m := range promqlIdent.FindAllStringSubmatch(e, -1) {
		if m[2] == "(" || slices.Contains(promqlKeywords, strings.ToLower(m[1])) {
			continue
		}
		names = append(names, m[1])
	}
	return names
}

func TestMetricNamesParser(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, shard) (rate(ssebench_ttft_seconds_bucket{shard=~"a|b", x="}"}[$__rate_interval]))) or sum(up) / on (job) group_left count(x_total offset 5m)`)
	if want := []string{"ssebench_ttft_seconds_bucket", "up", "x_total"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %q, want %q", got, want)
	}
}

// exposedNames returns every series name of a full exposition: families,
// and a histogram's _bucket, _sum and _count.
func exposedNames(t *testing.T) map[string]bool {
	t.Helper()
	l := shardState("1/1", 1)
	all := map[string]*reports.Histogram{}
	for m := range scenarios.NumMetrics {
		h := reports.NewHistogram()
		h.Record(time.Millisecond)
		all[m.String()] = h
	}
	l.Apply(&reports.Delta{Seq: 3, Hist: all})
	names := map[string]bool{}
	for name, mf := range gather(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{l.View()} })) {
		names[name] = true
		if mf.GetType().String() == "HISTOGRAM" {
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		}
	}
	return names
}

// TestDashboard: the dashboard is JSON Grafana imports, every query uses
// the dashboard's one Prometheus data source variable, every variable it
// uses is defined, and every metric name in every expression is one the
// collector exports.
func TestDashboard(t *testing.T) {
	var d dashboardJSON
	if err := json.Unmarshal(Dashboard(), &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) < 8 {
		t.Fatalf("uid %q title %q, %d panels", d.UID, d.Title, len(d.Panels))
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Fatalf("no datasource variable: %v", vars)
	}
	dsOK := func(where string, ds *datasourceRef) {
		if ds == nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
			t.Errorf("%s: data source %+v, want the ${datasource} variable (prometheus)", where, ds)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			dsOK("variable "+v.Name, v.Datasource)
		}
	}
	exposed := exposedNames(t)
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		dsOK("panel "+p.Title, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			where := p.Title + "/" + tg.RefID
			dsOK(where, tg.Datasource)
			names := metricNames(tg.Expr)
			if len(names) == 0 {
				t.Errorf("%s: no metric in %q", where, tg.Expr)
			}
			for _, n := range names {
				if !exposed[n] {
					t.Errorf("%s: metric %s is not exported (%q)", where, n, tg.Expr)
				}
			}
			for _, v := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if _, ok := vars[v[1]]; !ok && !strings.HasPrefix(v[1], "__") {
					t.Errorf("%s: variable $%s is not defined", where, v[1])
				}
			}
		}
	}
}
