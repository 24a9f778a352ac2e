package mockserver

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// MaxDelay is the largest duration any timing distribution may produce or
// name: one hour. Larger values are rejected by ParseDist.
const MaxDelay = time.Hour

type distKind uint8

const (
	distFixed distKind = iota
	distUniform
	distLogNormal
)

// Dist is a distribution of durations: the time to first token or the gap
// between tokens. The zero value is the fixed duration 0. A Dist is an
// immutable value, safe for concurrent use; *Dist implements flag.Value and
// encoding.TextUnmarshaler so it can be set from a flag, an environment
// variable or a query parameter.
//
// Syntax (see ParseDist):
//
//	200ms                   fixed
//	200ms~50ms              uniform jitter: 150ms..250ms ("200ms+-50ms" and "200ms±50ms" too)
//	uniform(150ms,250ms)    uniform between the two bounds
//	lognormal(200ms,0.5)    log-normal with median 200ms and sigma 0.5 (of ln d)
//	lognormal(200ms,0.5,2s) the same, capped at 2s
type Dist struct {
	kind  distKind
	a, b  time.Duration // fixed: a; uniform: [a, b]; lognormal: median a, cap b (0 = MaxDelay)
	sigma float64       // lognormal only
}

// Fixed returns the distribution that always yields d.
func Fixed(d time.Duration) Dist { return Dist{kind: distFixed, a: d} }

// Uniform returns the uniform distribution over [lo, hi].
func Uniform(lo, hi time.Duration) Dist { return Dist{kind: distUniform, a: lo, b: hi} }

// LogNormal returns the log-normal distribution with the given median and
// sigma (the standard deviation of ln d), capped at limit (0 means MaxDelay).
func LogNormal(median time.Duration, sigma float64, limit time.Duration) Dist {
	return Dist{kind: distLogNormal, a: median, b: limit, sigma: sigma}
}

// ParseDist parses the distribution syntax described on Dist. Durations use
// time.ParseDuration syntax; a bare integer is milliseconds. Negative
// durations, durations over MaxDelay, reversed bounds and a negative or
// non-finite sigma are errors.
func ParseDist(s string) (Dist, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Dist{}, errors.New("empty distribution")
	}
	if name, args, ok := splitCall(s); ok {
		switch name {
		case "fixed":
			if len(args) != 1 {
				return Dist{}, fmt.Errorf("fixed(D) takes 1 argument, got %d", len(args))
			}
			d, err := parseDelay(args[0])
			if err != nil {
				return Dist{}, err
			}
			return Fixed(d), nil
		case "uniform":
			if len(args) != 2 {
				return Dist{}, fmt.Errorf("uniform(LO,HI) takes 2 arguments, got %d", len(args))
			}
			lo, err := parseDelay(args[0])
			if err != nil {
				return Dist{}, err
			}
			hi, err := parseDelay(args[1])
			if err != nil {
				return Dist{}, err
			}
			if hi < lo {
				return Dist{}, fmt.Errorf("uniform(%s,%s): upper bound below lower bound", args[0], args[1])
			}
			return Uniform(lo, hi), nil
		case "lognormal":
			if len(args) != 2 && len(args) != 3 {
				return Dist{}, fmt.Errorf("lognormal(MEDIAN,SIGMA[,MAX]) takes 2 or 3 arguments, got %d", len(args))
			}
			med, err := parseDelay(args[0])
			if err != nil {
				return Dist{}, err
			}
			sigma, err := strconv.ParseFloat(strings.TrimSpace(args[1]), 64)
			if err != nil || sigma < 0 || math.IsInf(sigma, 0) || math.IsNaN(sigma) || sigma > 10 {
				return Dist{}, fmt.Errorf("lognormal sigma %q: want a number in [0, 10]", args[1])
			}
			var limit time.Duration
			if len(args) == 3 {
				if limit, err = parseDelay(args[2]); err != nil {
					return Dist{}, err
				}
			}
			return LogNormal(med, sigma, limit), nil
		default:
			return Dist{}, fmt.Errorf("unknown distribution %q (want fixed, uniform or lognormal)", name)
		}
	}
	// "D~J", "D+-J", "D±J"; a query string decodes '+' to ' ', so "D -J" too.
	for _, sep := range []string{"~", "+-", "±", " -"} {
		if i := strings.Index(s, sep); i > 0 {
			mid, err := parseDelay(s[:i])
			if err != nil {
				return Dist{}, err
			}
			j, err := parseDelay(s[i+len(sep):])
			if err != nil {
				return Dist{}, err
			}
			return Uniform(max(mid-j, 0), min(mid+j, MaxDelay)), nil
		}
	}
	d, err := parseDelay(s)
	if err != nil {
		return Dist{}, err
	}
	return Fixed(d), nil
}

// splitCall splits "name(a,b)" into its name and arguments.
func splitCall(s string) (name string, args []string, ok bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") {
		return "", nil, false
	}
	return strings.ToLower(strings.TrimSpace(s[:i])), strings.Split(s[i+1:len(s)-1], ","), true
}

// parseDelay parses a duration in [0, MaxDelay]; a bare integer is ms.
func parseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(MaxDelay/time.Millisecond) {
			return 0, fmt.Errorf("duration %q out of range [0, %v]", s, MaxDelay)
		}
		d = time.Duration(n) * time.Millisecond
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: %w", s, err)
		}
	}
	if d < 0 || d > MaxDelay {
		return 0, fmt.Errorf("duration %q out of range [0, %v]", s, MaxDelay)
	}
	return d, nil
}

// Sample draws one duration. It is safe for concurrent use (it uses the
// global math/rand/v2 source) and does not allocate.
func (d Dist) Sample() time.Duration {
	switch d.kind {
	case distUniform:
		if d.b <= d.a {
			return d.a
		}
		return d.a + time.Duration(rand.Int64N(int64(d.b-d.a)+1))
	case distLogNormal:
		limit := d.b
		if limit <= 0 {
			limit = MaxDelay
		}
		v := float64(d.a) * math.Exp(d.sigma*rand.NormFloat64())
		if v >= float64(limit) || math.IsNaN(v) {
			return limit
		}
		return time.Duration(v)
	default:
		return d.a
	}
}

// IsZero reports whether d always yields 0.
func (d Dist) IsZero() bool {
	return d.kind == distFixed && d.a == 0 || d.kind == distUniform && d.b == 0 || d.kind == distLogNormal && d.a == 0
}

// String returns d in the syntax ParseDist accepts.
func (d Dist) String() string {
	switch d.kind {
	case distUniform:
		return "uniform(" + d.a.String() + "," + d.b.String() + ")"
	case distLogNormal:
		s := "lognormal(" + d.a.String() + "," + strconv.FormatFloat(d.sigma, 'g', -1, 64)
		if d.b > 0 {
			s += "," + d.b.String()
		}
		return s + ")"
	default:
		return d.a.String()
	}
}

// Set parses s into d (flag.Value).
func (d *Dist) Set(s string) error {
	v, err := ParseDist(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText returns String() (encoding.TextMarshaler).
func (d Dist) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses text with ParseDist (encoding.TextUnmarshaler).
func (d *Dist) UnmarshalText(text []byte) error { return d.Set(string(text)) }
