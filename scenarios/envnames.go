package scenarios

import "slices"

// EnvNames returns the environment variables the scenario's templates read
// ({{env.NAME}} in the URL, header values and body of the stream request
// and of the setup request), sorted, without repeats. Templates that do not
// parse are skipped (Validate reports them).
func (s *Scenario) EnvNames() []string {
	var names []string
	add := func(r *Request) {
		srcs := []string{r.URL, r.Body}
		for _, h := range r.Headers {
			srcs = append(srcs, h.Value)
		}
		for _, src := range srcs {
			if t, err := ParseTemplate(src); err == nil {
				names = append(names, t.Env()...)
			}
		}
	}
	add(&s.Request)
	if s.Setup != nil {
		add(&s.Setup.Request)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
