package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"

	"github.com/ssebench/ssebench/reports"
)

// writeRunJUnit writes one JUnit document for the run: the thresholds and
// run suites of reports.WriteJUnit and, with --baseline, the baseline suite
// of reports.WriteComparisonJUnit, so that the JUnit verdict agrees with
// the exit code.
func writeRunJUnit(w io.Writer, f *reports.File, cmp *reports.Comparison) error {
	var a bytes.Buffer
	if err := reports.WriteJUnit(&a, f); err != nil {
		return err
	}
	if cmp == nil {
		_, err := w.Write(a.Bytes())
		return err
	}
	var b bytes.Buffer
	if err := reports.WriteComparisonJUnit(&b, cmp); err != nil {
		return err
	}
	merged, err := mergeJUnit(a.Bytes(), b.Bytes())
	if err != nil {
		return err
	}
	_, err = w.Write(merged)
	return err
}

// runJUnitDoc is a <testsuites> document, kept as raw inner XML.
type runJUnitDoc struct {
	XMLName xml.Name   `xml:"testsuites"`
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// mergeJUnit appends the test suites of b to those of a, adding up the
// tests, failures and errors counts of the <testsuites> element.
func mergeJUnit(a, b []byte) ([]byte, error) {
	var da, db runJUnitDoc
	if err := xml.Unmarshal(a, &da); err != nil {
		return nil, fmt.Errorf("merge JUnit: %w", err)
	}
	if err := xml.Unmarshal(b, &db); err != nil {
		return nil, fmt.Errorf("merge JUnit: %w", err)
	}
	sum := map[string]bool{"tests": true, "failures": true, "errors": true}
	for i, at := range da.Attrs {
		if !sum[at.Name.Local] {
			continue
		}
		x, _ := strconv.Atoi(at.Value)
		for _, bt := range db.Attrs {
			if bt.Name.Local == at.Name.Local {
				y, _ := strconv.Atoi(bt.Value)
				x += y
			}
		}
		da.Attrs[i].Value = strconv.Itoa(x)
	}
	var out bytes.Buffer
	out.WriteString(xml.Header)
	out.WriteString("<testsuites")
	for _, at := range da.Attrs {
		out.WriteString(" " + at.Name.Local + `="`)
		if err := xml.EscapeText(&out, []byte(at.Value)); err != nil {
			return nil, fmt.Errorf("merge JUnit: %w", err)
		}
		out.WriteString(`"`)
	}
	out.WriteString(">")
	out.Write(bytes.TrimRight(da.Inner, " \n"))
	out.Write(bytes.TrimRight(db.Inner, " \n"))
	out.WriteString("\n</testsuites>\n")
	return out.Bytes(), nil
}
