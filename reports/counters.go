package reports

import "reflect"

// Add adds o's counters to c: every int64 field adds, and every
// map[string]int64 field (errors by class, content encodings) adds per key.
// It walks the struct's fields, so a new counter in Counters is merged by
// Merge (and by every other caller) without another edit; the test
// TestCountersAddCoversEveryField fails when a field of another kind is
// added. A nil map in c is made when o has keys for it.
func (c *Counters) Add(o Counters) {
	dst := reflect.ValueOf(c).Elem()
	src := reflect.ValueOf(o)
	for i := range dst.NumField() {
		d, s := dst.Field(i), src.Field(i)
		switch d.Kind() {
		case reflect.Int64:
			d.SetInt(d.Int() + s.Int())
		case reflect.Map:
			if s.Len() == 0 {
				continue
			}
			if d.IsNil() {
				d.Set(reflect.MakeMapWithSize(d.Type(), s.Len()))
			}
			it := s.MapRange()
			for it.Next() {
				k := it.Key()
				var cur int64
				if v := d.MapIndex(k); v.IsValid() {
					cur = v.Int()
				}
				d.SetMapIndex(k, reflect.ValueOf(cur+it.Value().Int()))
			}
		}
	}
}
