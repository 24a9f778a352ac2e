package scenarios

// The closed model's default dial pacing: DefaultDialBurst connections at
// once, then DefaultDialRate new connections per second, over the whole
// run (shards divide both). 100,000 streams thus open in about 20 s
// instead of all at once, which overflows the target's accept queue
// (SYN retransmits after 1, 3 and 7 s) and inflates ttfb. A plan that
// wants a faster storm says so: load.dial_rate, load.dial_burst, or the
// CLI's --dial-rate and --dial-burst.
const (
	DefaultDialRate  = 5000.0
	DefaultDialBurst = 1000
)

// EffectiveDial returns the dial rate (per second) and burst the closed
// model uses: the workload's, or the defaults where it sets none.
func (l *Workload) EffectiveDial() (rate float64, burst int) {
	rate, burst = l.DialRate, l.DialBurst
	if rate <= 0 {
		rate = DefaultDialRate
	}
	if burst <= 0 {
		burst = DefaultDialBurst
	}
	return rate, burst
}
