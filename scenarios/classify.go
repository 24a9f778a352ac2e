package scenarios

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// Class is what one dispatched event means to the metrics: a kind
// (ClassMeta, ClassContent, ClassTerminal or ClassError, see Kind) plus the
// ClassUsage flag.
type Class uint8

// The kinds of event, and the usage flag.
const (
	// ClassMeta is an event that is neither content nor an end: metadata
	// such as the mock's info event, OpenAI's role-only or finish_reason
	// chunk, an event with empty data. It counts as an event, not a token.
	ClassMeta Class = iota
	// ClassContent is a content event: it sets TTFT, ITL and counts as a
	// token when the server reports no usage.
	ClassContent
	// ClassTerminal ends the stream successfully.
	ClassTerminal
	// ClassError ends the stream with error class terminal_error_event.
	ClassError

	classKindMask Class = 3

	// ClassUsage flags an event whose data holds a token usage report:
	// call Classifier.Usage on it. The last report of a stream wins.
	ClassUsage Class = 1 << 2
)

// Kind returns the kind without flags.
func (c Class) Kind() Class { return c & classKindMask }

// HasUsage reports whether the ClassUsage flag is set.
func (c Class) HasUsage() bool { return c&ClassUsage != 0 }

// String returns the kind's name ("meta", "content", "terminal", "error"),
// with "+usage" when flagged.
func (c Class) String() string {
	s := [...]string{"meta", "content", "terminal", "error"}[c.Kind()]
	if c.HasUsage() {
		s += "+usage"
	}
	return s
}

// Classifier classifies events under a scenario's Events rules. Build one
// with Events.Classifier. It is read-only after construction and safe for
// concurrent use; Classify and Usage do not allocate on the common paths.
type Classifier struct {
	preset                        Preset
	content, terminal, errs, meta []string
	terminalData                  []string
	contentAny                    bool // Content empty: every unlisted type may be content
	plainContent                  bool // no TerminalData, not PresetOpenAI: a content type's event is content when its data is not empty
}

// presetLists returns a preset's default lists.
func presetLists(p Preset) (content, terminal, errs, meta, terminalData []string) {
	switch p {
	case PresetEventSource:
		return nil, []string{"finish"}, []string{"error"}, []string{"info"}, nil
	case PresetOpenAI:
		return nil, nil, []string{"error"}, nil, []string{"[DONE]"}
	}
	return nil, nil, nil, nil, nil
}

// Resolved returns e with every nil list replaced by the preset's default,
// as the Classifier sees it.
func (e Events) Resolved() Events {
	c, t, er, m, td := presetLists(e.Preset)
	if e.Content == nil {
		e.Content = c
	}
	if e.Terminal == nil {
		e.Terminal = t
	}
	if e.Error == nil {
		e.Error = er
	}
	if e.Meta == nil {
		e.Meta = m
	}
	if e.TerminalData == nil {
		e.TerminalData = td
	}
	return e
}

// Classifier returns a Classifier for e (nil lists take the preset's
// defaults).
func (e *Events) Classifier() *Classifier {
	r := e.Resolved()
	return &Classifier{
		preset:       r.Preset,
		content:      r.Content,
		terminal:     r.Terminal,
		errs:         r.Error,
		meta:         r.Meta,
		terminalData: r.TerminalData,
		contentAny:   len(r.Content) == 0,
		plainContent: len(r.TerminalData) == 0 && r.Preset != PresetOpenAI,
	}
}

func inList(list []string, b []byte) bool {
	for _, s := range list {
		if string(b) == s {
			return true
		}
	}
	return false
}

var usageKey = []byte(`"usage"`)

// Classify returns the class of an event of type typ (empty means
// "message") carrying data. Rules, in order: data listed in TerminalData
// is terminal; a type in Error, Terminal or Meta is that; a type in Content
// (or any other type when Content is empty) is content when its data is
// non-empty, and for PresetOpenAI when the chunk's delta has content
// (otherwise meta, or error for a chunk with a top-level "error" object);
// any other type is meta.
func (c *Classifier) Classify(typ, data []byte) Class {
	return c.ClassifyAs(c.TypeRule(typ), data)
}

// TypeRule is what an event's type decides of its class under a
// Classifier's rules; the data decides the rest (ClassifyAs). A stream's
// events mostly share a type: its reader decides the rule once per change
// of type instead of matching the type against the lists every event.
type TypeRule uint8

// The type rules.
const (
	typeMeta     TypeRule = iota // meta (a usage report is flagged)
	typeError                    // error
	typeTerminal                 // terminal (a usage report is flagged)
	typeContent                  // content when the data says so
)

// TypeRule returns the rule for events of type typ (empty means
// "message").
func (c *Classifier) TypeRule(typ []byte) TypeRule {
	if len(typ) == 0 {
		typ = messageType
	}
	switch {
	case inList(c.errs, typ):
		return typeError
	case inList(c.terminal, typ):
		return typeTerminal
	case inList(c.meta, typ):
		return typeMeta
	case !c.contentAny && !inList(c.content, typ):
		return typeMeta
	}
	return typeContent
}

// ClassifyAs is Classify for an event whose type has rule r (from
// TypeRule). Its common case, a content type under rules that look at no
// more of the data than whether it is empty, is small enough to inline.
func (c *Classifier) ClassifyAs(r TypeRule, data []byte) Class {
	if r == typeContent && c.plainContent {
		if len(data) == 0 {
			return ClassMeta
		}
		return ClassContent
	}
	return c.classifyAs(r, data)
}

func (c *Classifier) classifyAs(r TypeRule, data []byte) Class {
	if len(c.terminalData) > 0 && inList(c.terminalData, data) {
		return ClassTerminal
	}
	switch r {
	case typeError:
		return ClassError
	case typeTerminal:
		return ClassTerminal | c.usageFlag(data)
	case typeMeta:
		return ClassMeta | c.usageFlag(data)
	}
	if c.preset == PresetOpenAI {
		return openAIChunk(data)
	}
	if len(data) == 0 {
		return ClassMeta
	}
	return ClassContent
}

var messageType = []byte("message")

func (c *Classifier) usageFlag(data []byte) Class {
	if bytes.Contains(data, usageKey) || bytes.Contains(data, []byte(`"completion_tokens"`)) {
		return ClassUsage
	}
	return 0
}

// Usage returns the number of output tokens a usage report in data
// states: usage.completion_tokens (OpenAI), usage.output_tokens
// (Anthropic, Responses API), or a top-level completion_tokens or
// output_tokens. ok is false when data holds no such number.
func (c *Classifier) Usage(data []byte) (completionTokens int, ok bool) {
	return usage(data)
}

// openAIChunk classifies one OpenAI streaming chunk, scanning the JSON
// without decoding it; it falls back to encoding/json when the scanner
// meets anything unusual (escaped keys, invalid JSON).
func openAIChunk(data []byte) Class {
	sc := jscan{b: data}
	cls, ok := sc.chunk()
	if ok {
		return cls
	}
	return openAIChunkSlow(data)
}

func openAIChunkSlow(data []byte) Class {
	top, ok := decodeObject(data)
	if !ok {
		return ClassMeta
	}
	var flag Class
	if top["usage"] != nil {
		flag = ClassUsage
	}
	if top["error"] != nil {
		return ClassError | flag
	}
	choices, _ := top["choices"].([]any)
	for _, c := range choices {
		m, _ := c.(map[string]any)
		if text, _ := m["text"].(string); text != "" {
			return ClassContent | flag
		}
		delta, _ := m["delta"].(map[string]any)
		for k, v := range delta {
			if deltaContentKey(k) && nonEmptyAny(v) {
				return ClassContent | flag
			}
		}
	}
	return ClassMeta | flag
}

// decodeObject decodes a JSON object with numbers kept as json.Number.
func decodeObject(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if dec.Decode(&top) != nil || top == nil || dec.More() {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return top, true
}

// nonEmptyAny: null, "", [] and {} are empty; anything else is not.
func nonEmptyAny(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// deltaContentKey reports whether a delta field carries output.
func deltaContentKey(k string) bool {
	switch k {
	case "content", "reasoning_content", "reasoning", "tool_calls", "function_call", "refusal":
		return true
	}
	return false
}

// usage extracts a token count (see Classifier.Usage).
func usage(data []byte) (int, bool) {
	sc := jscan{b: data}
	n, ok, sure := sc.usage()
	if sure {
		return n, ok
	}
	return usageSlow(data)
}

// usageSlow is usage by a full decode.
func usageSlow(data []byte) (int, bool) {
	top, ok := decodeObject(data)
	if !ok {
		return 0, false
	}
	tok := func(v any) (int, bool) {
		num, isNum := v.(json.Number)
		if !isNum {
			return 0, false
		}
		n, err := strconv.Atoi(num.String())
		return n, err == nil && n >= 0
	}
	if u, isObj := top["usage"].(map[string]any); isObj {
		if n, ok := tok(u["completion_tokens"]); ok {
			return n, true
		}
		if n, ok := tok(u["output_tokens"]); ok {
			return n, true
		}
	}
	if n, ok := tok(top["completion_tokens"]); ok {
		return n, true
	}
	return tok(top["output_tokens"])
}
