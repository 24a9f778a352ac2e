package scenarios

import (
	_ "embed"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseAddrs expands an address ("127.0.0.2"), an inclusive range
// ("127.0.0.1-127.0.0.16", or "127.0.0.1-16" with the last octet only) or a
// CIDR prefix ("127.0.0.0/28", every address in it) into at most limit
// addresses.
func ParseAddrs(s string, limit int) ([]netip.Addr, error) {
	var lo, hi netip.Addr
	var err error
	switch {
	case strings.Contains(s, "/"):
		pfx, perr := netip.ParsePrefix(s)
		if perr != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix (want e.g. 127.0.0.0/28)", s)
		}
		pfx = pfx.Masked()
		lo = pfx.Addr()
		bits := lo.BitLen() - pfx.Bits()
		if bits >= 31 || 1<<bits > limit {
			return nil, fmt.Errorf("%q has more than %d addresses", s, limit)
		}
		hi = lo
		for range (1 << bits) - 1 {
			hi = hi.Next()
		}
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		if lo, err = netip.ParseAddr(strings.TrimSpace(a)); err != nil {
			return nil, fmt.Errorf("%q is not an address range (want e.g. 127.0.0.1-127.0.0.16)", s)
		}
		b = strings.TrimSpace(b)
		if n, nerr := strconv.Atoi(b); nerr == nil && lo.Is4() && n >= 0 && n <= 255 {
			a4 := lo.As4()
			a4[3] = byte(n)
			hi = netip.AddrFrom4(a4)
		} else if hi, err = netip.ParseAddr(b); err != nil {
			return nil, fmt.Errorf("%q is not an address range (want e.g. 127.0.0.1-127.0.0.16)", s)
		}
	default:
		a, perr := netip.ParseAddr(s)
		if perr != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		return []netip.Addr{a}, nil
	}
	if lo.Is4() != hi.Is4() || hi.Less(lo) {
		return nil, fmt.Errorf("%q is not an ascending range of one address family", s)
	}
	var out []netip.Addr
	for a := lo; ; a = a.Next() {
		if len(out) >= limit {
			return nil, fmt.Errorf("%q has more than %d addresses", s, limit)
		}
		out = append(out, a)
		if a == hi {
			break
		}
	}
	return out, nil
}

// ParseDuration parses a non-negative Go duration such as "500ms", "1m30s"
// or "0". A bare number other than 0 is an error: the unit is required.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.ReplaceAll(s, "µ", "u"))
	if err != nil {
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return 0, fmt.Errorf("%q has no unit (want e.g. %ss or %sms)", s, s, s)
		}
		return 0, fmt.Errorf("%q is not a duration (want e.g. 10s, 500ms, 1m30s)", clip(s, 40))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// ParseRate parses a rate such as "100/s", "6000/m", "6000/min", "1/h",
// "0.5/s" or a bare number (per second) into events per second.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(num, "_", "")), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate (want e.g. 100/s)", clip(s, 40))
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if !hasPer {
		return f, nil
	}
	switch strings.TrimSpace(per) {
	case "s", "sec", "second":
		return f, nil
	case "m", "min", "minute":
		return f / 60, nil
	case "h", "hour":
		return f / 3600, nil
	case "ms":
		return f * 1000, nil
	}
	return 0, fmt.Errorf("%q is not a rate (want e.g. 100/s; units /s, /m, /h)", clip(s, 40))
}

// ParseFraction parses "10%" or "0.1" into a number in [0, 1].
func ParseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a fraction (want e.g. 10%% or 0.1)", clip(s, 40))
	}
	if pct {
		f /= 100
	}
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not between 0 and 100%%", s)
	}
	return f, nil
}

// ParseSize parses a byte size: "65536", "64KiB", "1MiB", "1GiB", "64KB"
// (1000-based), "512B".
func ParseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult := map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
		"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9, "kB": 1e3}[unit]
	n, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	if err != nil || mult == 0 || n < 0 || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a size in bytes (want e.g. 65536, 64KiB, 1MiB)", clip(s, 40))
	}
	v := n * mult
	if v > 1<<40 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int(v), nil
}
