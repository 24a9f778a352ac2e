package reports

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCountersAddCoversEveryField sets every counter to a distinct value
// and checks that Add adds each one: a field of a kind Add does not know
// (it would be silently dropped by a merge) fails here.
func TestCountersAddCoversEveryField(t *testing.T) {
	var a, b Counters
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem()
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		name := va.Type().Field(i).Name
		switch fa.Kind() {
		case reflect.Int64:
			fa.SetInt(int64(i + 1))
			fb.SetInt(int64(100 * (i + 1)))
		case reflect.Map:
			if fa.Type().Key().Kind() != reflect.String || fa.Type().Elem().Kind() != reflect.Int64 {
				t.Fatalf("Counters.%s is a %s: Add handles int64 and map[string]int64 only", name, fa.Type())
			}
			fa.Set(reflect.ValueOf(map[string]int64{"x": int64(i + 1), "only_a": 1}))
			fb.Set(reflect.ValueOf(map[string]int64{"x": int64(100 * (i + 1)), "only_b": 2}))
		default:
			t.Fatalf("Counters.%s is a %s: Add handles int64 and map[string]int64 only", name, fa.Type())
		}
	}
	sum := a
	sum.Errors, sum.AttemptErrors, sum.ContentEncoding = nil, nil, nil // Add must make the maps
	sum.Add(a)
	sum.Add(b)
	vs := reflect.ValueOf(sum)
	for i := range vs.NumField() {
		name := vs.Type().Field(i).Name
		switch f := vs.Field(i); f.Kind() {
		case reflect.Int64:
			// sum started as a's values, then got a and b.
			if got, want := f.Int(), int64(2*(i+1)+100*(i+1)); got != want {
				t.Errorf("Counters.%s = %d, want %d", name, got, want)
			}
		case reflect.Map:
			want := map[string]int64{"x": int64(i+1) + int64(100*(i+1)), "only_a": 1, "only_b": 2}
			if d := cmp.Diff(want, f.Interface()); d != "" {
				t.Errorf("Counters.%s (-want +got):\n%s", name, d)
			}
		}
	}
	// The inputs are not changed.
	if a.Errors["x"] == 0 || len(a.Errors) != 2 || len(b.Errors) != 2 {
		t.Errorf("Add changed its argument: %v %v", a.Errors, b.Errors)
	}
}

func TestCountersAddToZero(t *testing.T) {
	var z Counters
	z.Add(Counters{Events: 3, Errors: map[string]int64{"dial": 2}})
	z.Add(Counters{})
	if z.Events != 3 || z.Errors["dial"] != 2 || z.AttemptErrors != nil {
		t.Errorf("got %+v", z)
	}
}
