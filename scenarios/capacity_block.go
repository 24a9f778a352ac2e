package scenarios

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CapacityBlock is a scenario file's "capacity:" block, the settings of
// 'ssebench capacity' (each has a flag, which overrides it):
//
//	capacity:
//	  by: connections          # or rate
//	  slo: ["ttft.p99 < 300ms", "errors.rate < 1%"]
//	  min: 8                   # rate: 5/s
//	  max: 512
//	  step_duration: 10s       # the measured part of a step
//	  warm_up: 3s              # excluded from every number
//	  max_step_duration: 60s   # a step extended for samples stops there
//	  resolution: 5%           # bisect until fail/pass is within this
//
// Other commands ignore it.
type CapacityBlock struct {
	By                            string
	SLOs                          []Threshold
	Min, Max                      float64
	MinIsRate, MaxIsRate          bool // written as a rate (5/s)
	StepDuration, WarmUp, MaxStep time.Duration
	WarmUpSet                     bool
	Resolution                    float64
	Line                          int // where the block starts
}

var capacityKeys = []string{"by", "slo", "min", "max", "step_duration", "warm_up", "max_step_duration", "resolution"}

func (d *decoder) capacity(n *yaml.Node, path string) {
	c := &CapacityBlock{Line: n.Line}
	d.s.Capacity = c
	byLine := n.Line
	d.fields(n, path, capacityKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "by":
			c.By, byLine = d.str(v, p), v.Line
			if c.By != "connections" && c.By != "rate" {
				d.problem(v.Line, p, "%q: want connections or rate", clip(c.By, 40))
			}
		case "slo":
			for i, expr := range d.strs(v, p) {
				t, err := ParseThreshold(expr)
				if err != nil {
					d.problem(v.Line, fmt.Sprintf("%s[%d]", p, i), "%v", err)
					continue
				}
				c.SLOs = append(c.SLOs, t)
			}
		case "min", "max":
			r := d.rate(v, p)
			if r <= 0 && v.Kind == yaml.ScalarNode {
				d.problem(v.Line, p, "want a positive number of connections or a rate such as 5/s")
			}
			isRate := strings.Contains(v.Value, "/")
			if key == "min" {
				c.Min, c.MinIsRate = r, isRate
			} else {
				c.Max, c.MaxIsRate = r, isRate
			}
		case "step_duration":
			c.StepDuration = d.positiveDuration(v, p)
		case "warm_up":
			c.WarmUp, c.WarmUpSet = d.duration(v, p), true
		case "max_step_duration":
			c.MaxStep = d.positiveDuration(v, p)
		case "resolution":
			c.Resolution = d.fraction(v, p)
		}
	})
	if c.By != "rate" && (c.MinIsRate || c.MaxIsRate) {
		d.problem(byLine, path+".by", "min or max is a rate (/s) but the search is by connections: add by: rate, or give a number of connections")
	}
}

func (d *decoder) positiveDuration(v *yaml.Node, p string) time.Duration {
	x := d.duration(v, p)
	if x <= 0 && v.Kind == yaml.ScalarNode {
		d.problem(v.Line, p, "want a positive duration such as 10s")
	}
	return x
}
