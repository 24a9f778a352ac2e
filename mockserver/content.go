package mockserver

import "strconv"

// The generated text. Token j of a stream with seed s is vocab[h(s, j) %
// len(vocab)], preceded by a space unless j == 0, so the content of every
// event is a pure function of (seed, index) and a resumed stream needs no
// stored state. The words avoid every byte JSON would escape (quotes,
// backslash, control characters, U+2028/U+2029) so they can be appended to a
// JSON string as they are; some are multi-byte UTF-8 so clients that split
// characters across reads are exercised.
var vocab = [...]string{
	"the", "stream", "of", "tokens", "flows", "from", "a", "mock", "server",
	"to", "every", "client", "that", "listens", "and", "each", "event", "has",
	"an", "id", "so", "resume", "works", "after", "drop", "without", "gap",
	"or", "duplicate", "while", "heartbeats", "keep", "idle", "proxies",
	"awake", "latency", "is", "measured", "in", "milliseconds", "throughput",
	"per", "second", "queue", "slot", "model", "answer", "is", "ready",
	"café", "naïve", "Straße", "日本語", "données", "€", "😀", "→", "ñandú",
	"Ωmega", "—", "42", "3.14", "[x]", "{y}",
}

// mix is SplitMix64's finaliser: a cheap, well-distributed 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// appendToken appends token j of the stream with the given seed.
func appendToken(b []byte, seed uint64, j int) []byte {
	if j > 0 {
		b = append(b, ' ')
	}
	return append(b, vocab[mix(seed^mix(uint64(j)))%uint64(len(vocab))]...)
}

// appendTokens appends tokens [from, to).
func appendTokens(b []byte, seed uint64, from, to int) []byte {
	for j := from; j < to; j++ {
		b = appendToken(b, seed, j)
	}
	return b
}

// appendHex16 appends x as 16 lower-case hex digits.
func appendHex16(b []byte, x uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[(x>>uint(i))&0xf])
	}
	return b
}

// appendJSONString appends s as a JSON string, escaping what JSON requires.
// Used for values that come from requests (model names); the generated
// tokens need no escaping.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendInt appends n in decimal.
func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
