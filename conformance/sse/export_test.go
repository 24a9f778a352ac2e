package sse

// Test hooks into the Reader's internals, for the memory-bound tests.

// BufCap returns the capacity of rd's read buffer.
func BufCap(rd *Reader) int { return cap(rd.buf) }

// DataCap returns the capacity of rd's data buffer.
func DataCap(rd *Reader) int { return cap(rd.data) }
