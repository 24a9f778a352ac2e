package scenarios

import (
	"encoding/binary"
	"math/bits"
)

// jscan is a minimal, allocation-free JSON scanner for the two questions
// the classifier asks of every chunk (does a delta carry output? is there a
// usage report?). It validates what it walks; whenever it meets something
// it does not handle exactly (an escaped key, nesting deeper than 64,
// malformed input) it gives up, and the caller falls back to
// encoding/json, so the answers always agree with a full decode.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jscan) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// plain moves past the bytes of a string that need no look, eight at a
// time: it stops at the first '"', '\\' or control byte (below 0x20), or
// fewer than 8 bytes before the end. Each of the three zero-byte tests
// flags its lowest true match (a false positive can only sit above a true
// one), so the lowest flag of the three is the first byte to look at.
func (s *jscan) plain() {
	const (
		ones     = 0x0101010101010101
		highs    = 0x8080808080808080
		quotes   = 0x2222222222222222
		slashes  = 0x5c5c5c5c5c5c5c5c
		controls = 0x2020202020202020
	)
	for s.i+8 <= len(s.b) {
		x := binary.LittleEndian.Uint64(s.b[s.i:])
		q, b := x^quotes, x^slashes
		if t := ((q-ones)&^q | (b-ones)&^b | (x-controls)&^x) & highs; t != 0 {
			s.i += bits.TrailingZeros64(t) >> 3
			return
		}
		s.i += 8
	}
}

// str reads a string at the cursor and returns its raw bytes (between the
// quotes) and whether it contains escapes.
func (s *jscan) str() (raw []byte, escaped, ok bool) {
	if !s.eat('"') {
		return nil, false, false
	}
	start := s.i
	for s.i < len(s.b) {
		s.plain()
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				s.i += 6
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			s.i++
		}
	}
	return nil, false, false
}

// key reads an object key and the colon after it. Escaped keys are not
// handled (ok false).
func (s *jscan) key() ([]byte, bool) {
	k, esc, ok := s.str()
	if !ok || esc || !s.eat(':') {
		return nil, false
	}
	return k, true
}

// next consumes the separator after a member or element: more is true
// after ',' and false after the closing byte.
func (s *jscan) next(closing byte) (more, ok bool) {
	switch s.peek() {
	case ',':
		s.i++
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, false
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jscan) number() bool {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (s *jscan) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// skip skips one value, checking its structure (brackets matched by kind,
// strings closed, literals spelled) but not number syntax beyond its bytes.
func (s *jscan) skip() bool {
	var stack uint64 // 1 bit per level: 1 = object, 0 = array
	depth := 0
	for {
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if depth == 64 {
				return false
			}
			s.i++
			stack <<= 1
			if c == '{' {
				stack |= 1
			}
			depth++
			if (c == '{' && s.peek() == '}') || (c == '[' && s.peek() == ']') {
				s.i++
				stack >>= 1
				depth--
				break
			}
			if c == '{' {
				if _, ok := s.key(); !ok {
					return false
				}
			}
			continue
		case c == '"':
			if _, _, ok := s.str(); !ok {
				return false
			}
		case c == 't':
			if !s.literal("true") {
				return false
			}
		case c == 'f':
			if !s.literal("false") {
				return false
			}
		case c == 'n':
			if !s.literal("null") {
				return false
			}
		case c == '-' || '0' <= c && c <= '9':
			if !s.number() {
				return false
			}
		default:
			return false
		}
		// A value ended: close containers or move to the next member.
		for depth > 0 {
			obj := stack&1 == 1
			closing := byte(']')
			if obj {
				closing = '}'
			}
			more, ok := s.next(closing)
			if !ok {
				return false
			}
			if more {
				if obj {
					if _, ok := s.key(); !ok {
						return false
					}
				}
				break
			}
			stack >>= 1
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

// nonEmpty reads a value and reports whether it carries something: a
// non-empty string, array or object, a number or a boolean (not null).
func (s *jscan) nonEmpty() (nonEmpty, ok bool) {
	switch s.peek() {
	case '"':
		raw, _, ok := s.str()
		return len(raw) > 0, ok
	case 'n':
		return false, s.literal("null")
	case '[':
		save := s.i
		s.i++
		empty := s.peek() == ']'
		s.i = save
		return !empty, s.skip()
	case '{':
		save := s.i
		s.i++
		empty := s.peek() == '}'
		s.i = save
		return !empty, s.skip()
	}
	return true, s.skip()
}

// object calls member for each key of the object at the cursor; member
// must consume the value. A null in place of the object is no members.
func (s *jscan) object(member func(k []byte) bool) bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		k, ok := s.key()
		if !ok || !member(k) {
			return false
		}
		more, ok := s.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// array calls elem for each element of the array at the cursor; elem must
// consume the value. A null in place of the array is no elements.
func (s *jscan) array(elem func() bool) bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		more, ok := s.next(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

func (s *jscan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// chunk classifies an OpenAI chunk; ok is false when the caller must fall
// back to a full decode.
func (s *jscan) chunk() (cls Class, ok bool) {
	// A key of interest seen twice in one object makes the answer depend
	// on which one wins: leave that to encoding/json (the last one wins).
	content, errSeen, usageSeen := false, false, false
	var top uint8
	ok = s.object(func(k []byte) bool {
		switch string(k) {
		case "choices":
			if !once(&top, 0) {
				return false
			}
			if s.peek() != '[' {
				return s.skip()
			}
			return s.array(func() bool {
				if s.peek() != '{' {
					return s.skip()
				}
				var elem uint8
				return s.object(func(k []byte) bool {
					switch string(k) {
					case "delta":
						if !once(&elem, 0) {
							return false
						}
						if s.peek() != '{' {
							return s.skip()
						}
						var seen uint8
						return s.object(func(k []byte) bool {
							i := deltaKeyIndex(string(k))
							if i < 0 {
								return s.skip()
							}
							if !once(&seen, i) {
								return false
							}
							ne, ok := s.nonEmpty()
							content = content || ne
							return ok
						})
					case "text":
						if !once(&elem, 1) {
							return false
						}
						if s.peek() != '"' {
							return s.skip()
						}
						raw, _, ok := s.str()
						content = content || len(raw) > 0
						return ok
					}
					return s.skip()
				})
			})
		case "usage":
			if !once(&top, 1) {
				return false
			}
			usageSeen = s.peek() != 'n'
			return s.skip()
		case "error":
			if !once(&top, 2) {
				return false
			}
			errSeen = s.peek() != 'n'
			return s.skip()
		}
		return s.skip()
	}) && s.end()
	if !ok {
		return 0, false
	}
	if usageSeen {
		cls = ClassUsage
	}
	switch {
	case errSeen:
		return cls | ClassError, true
	case content:
		return cls | ClassContent, true
	}
	return cls, true // ClassMeta is the zero class
}

// once sets bit i of *seen and reports whether it was clear.
func once(seen *uint8, i int) bool {
	if *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	return true
}

// deltaKeyIndex numbers the delta fields that carry output (see
// deltaContentKey), or returns -1.
func deltaKeyIndex(k string) int {
	switch k {
	case "content":
		return 0
	case "reasoning_content":
		return 1
	case "reasoning":
		return 2
	case "tool_calls":
		return 3
	case "function_call":
		return 4
	case "refusal":
		return 5
	}
	return -1
}

// usage finds a token count (see Classifier.Usage). sure is false when the
// caller must fall back to a full decode.
func (s *jscan) usage() (n int, found, sure bool) {
	var inUsage, inUsageOut, top, topOut = -1, -1, -1, -1
	num := func(dst *int) bool {
		if s.peek() == 'n' {
			return s.literal("null")
		}
		start := s.i
		v := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			if v > 1<<40 {
				return false
			}
			v = v*10 + int(s.b[s.i]-'0')
			s.i++
		}
		if s.i == start || s.i < len(s.b) && isNumByte(s.b[s.i]) || s.i-start > 1 && s.b[start] == '0' {
			return false // negative, fractional, exponent, leading zero: let json decide
		}
		*dst = v
		return true
	}
	var seenTop, seenUsage uint8
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "usage":
			if !once(&seenTop, 0) {
				return false
			}
			if s.peek() != '{' {
				return s.skip()
			}
			return s.object(func(k []byte) bool {
				switch string(k) {
				case "completion_tokens":
					return once(&seenUsage, 0) && num(&inUsage)
				case "output_tokens":
					return once(&seenUsage, 1) && num(&inUsageOut)
				}
				return s.skip()
			})
		case "completion_tokens":
			return once(&seenTop, 1) && num(&top)
		case "output_tokens":
			return once(&seenTop, 2) && num(&topOut)
		}
		return s.skip()
	}) && s.end()
	if !ok {
		return 0, false, false
	}
	for _, v := range []int{inUsage, inUsageOut, top, topOut} {
		if v >= 0 {
			return v, true, true
		}
	}
	return 0, false, true
}
