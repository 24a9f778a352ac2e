package sse

import "bytes"

// scan is NextView's fast path: it processes the lines of buf[r:clean],
// bytes known to hold no CR and to be valid UTF-8, so that a line is the
// bytes up to the next LF, needs no decoding, and the common fields (data,
// event, id, comments, empty lines) are handled inline with r and the
// offset kept in locals. A line may also end at the CR that bounds clean.
// It stops at the first line it cannot take (one not known to be clean,
// one over MaxLine: readLine's checks decide those), handing any other
// field to processLine. ok is true when it consumed the empty line of a
// block that has data: the caller dispatches the event.
func (rd *Reader) scan() (ok bool, err error) {
	// buf and clean are kept in locals (nothing here moves the bytes);
	// clean is reloaded where extendClean moves it.
	buf, clean, r := rd.buf, rd.clean, rd.r
	base := rd.off - int64(r) // the stream offset of buf[0]
	for {
		if r >= clean {
			if !rd.extendClean(r) {
				break
			}
			clean = rd.clean
		}
		if buf[r] == '\n' {
			// An empty line: it ends every other line of a typical
			// stream, and takes no search.
			r++
			if rd.hasData {
				rd.r, rd.off = r, base+int64(r)
				return true, nil
			}
			rd.endBlock()
			continue
		}
		b := buf[r:clean]
		i := bytes.IndexByte(b, '\n')
		n := i + 1
		if i < 0 {
			if clean == rd.w || buf[clean] != '\r' || len(b) > rd.opts.MaxLine {
				break // the line's end is not in clean bytes
			}
			i, n = len(b), len(b)+1
			if clean+1 == rd.w {
				rd.skipLF = true // the LF of this CRLF may come next read
			} else if buf[clean+1] == '\n' {
				n++
			}
		} else if i > rd.opts.MaxLine {
			break
		}
		line := b[:i]
		at := r
		r += n
		if line[0] == ':' {
			if rd.opts.OnComment != nil {
				rd.opts.OnComment(line[1:])
			}
			continue
		}
		if !rd.pending {
			rd.pending, rd.blockOff, rd.headAt = true, base+int64(at), at
		}
		// The inline cases; the field name is compared as knownField does.
		switch {
		case i >= 5 && string(line[:5]) == "data:" && !rd.hasData && i-5 < rd.opts.MaxEvent:
			v := 5
			if i > 5 && line[5] == ' ' {
				v = 6
			}
			rd.dataAt, rd.dataEnd = at+v, at+i
			rd.dataAlias, rd.hasData = true, true
			continue
		case i >= 6 && string(line[:6]) == "event:":
			rd.typ = append(rd.typ[:0], trimSpace(line[6:])...)
			rd.setMeta = true
			continue
		case i >= 3 && string(line[:3]) == "id:":
			if v := trimSpace(line[3:]); !hasNUL(v) {
				rd.idBuf = append(rd.idBuf[:0], v...)
				rd.idSet, rd.setMeta = true, true
				continue
			}
		}
		rd.r, rd.off, rd.lineAt = r, base+int64(r), at
		if err := rd.processLine(line, base+int64(at)); err != nil {
			return false, err
		}
	}
	rd.r, rd.off = r, base+int64(r)
	return false, nil
}

// hasNUL reports whether an id value holds U+0000; an inlined loop is
// cheaper than a call for the short values ids have.
func hasNUL(v []byte) bool {
	for _, c := range v {
		if c == 0 {
			return true
		}
	}
	return false
}

// trimSpace removes the one leading space a field value may have (rule A4
// of the package doc).
func trimSpace(v []byte) []byte {
	if len(v) > 0 && v[0] == ' ' {
		return v[1:]
	}
	return v
}

// extendClean moves clean past r, as far as the buffered bytes are known
// to hold no CR and to be valid UTF-8, when the fast path may run: the
// stream's start is past (BOM), no LF is to be skipped, and no diagnostics
// are wanted (they need the general path's checks on every line). It
// reports whether clean now lies past r.
func (rd *Reader) extendClean(r int) bool {
	if r >= rd.w || rd.skipLF || !rd.started || rd.opts.OnDiagnostic != nil {
		return false
	}
	end := rd.nextCR(r)
	if end < 0 {
		end = rd.w
	}
	rd.validUTF8(r, end)
	rd.clean = min(end, rd.validTo)
	return rd.clean > r
}
