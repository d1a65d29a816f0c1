package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxNestingDepth is the deepest nesting of arrays and objects that serde_json, which the
// Rust plugin uses, accepts by default: it rejects the 128th level.
const maxNestingDepth = 127

var errInvalidJSON = errors.New("invalid JSON")

// decodeJSON parses one JSON value. It also rejects what serde_json 1.0 (the parser of the
// Rust plugin) rejects but encoding/json accepts: invalid UTF-8, escaped lone surrogates,
// nesting deeper than 127 levels and numbers beyond the range of float64. Numbers stay
// json.Number, so integers are written back as integers with all their digits.
func decodeJSON(data []byte) (any, error) {
	if !utf8.Valid(data) || hasLoneSurrogateEscape(data) {
		return nil, errInvalidJSON
	}

	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var document any
	if err := decoder.Decode(&document); err != nil {
		return nil, err
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, errInvalidJSON
	}

	if err := checkValue(document, 0); err != nil {
		return nil, err
	}
	return document, nil
}

// checkValue rejects nesting beyond maxNestingDepth and numbers that overflow float64.
func checkValue(value any, depth int) error {
	switch value := value.(type) {
	case map[string]any:
		if depth >= maxNestingDepth {
			return errInvalidJSON
		}
		for _, member := range value {
			if err := checkValue(member, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if depth >= maxNestingDepth {
			return errInvalidJSON
		}
		for _, element := range value {
			if err := checkValue(element, depth+1); err != nil {
				return err
			}
		}
	case json.Number:
		return checkNumber(value)
	}
	return nil
}

// checkNumber accepts what serde_json reads as an i64, u64 or finite f64.
func checkNumber(number json.Number) error {
	text := string(number)
	if _, err := strconv.ParseInt(text, 10, 64); err == nil {
		return nil
	}
	if _, err := strconv.ParseUint(text, 10, 64); err == nil {
		return nil
	}
	if float, _ := strconv.ParseFloat(text, 64); math.IsInf(float, 0) {
		return errInvalidJSON
	}
	return nil
}

// hasLoneSurrogateEscape reports whether a \u escape encodes a UTF-16 surrogate without
// its pair. encoding/json replaces those with U+FFFD, but serde_json rejects them. The
// scan relies on backslashes appearing only inside strings, which the decoder checks.
func hasLoneSurrogateEscape(data []byte) bool {
	if !bytes.Contains(data, []byte(`\u`)) {
		return false
	}
	for index := 0; index < len(data); index++ {
		if data[index] != '\\' {
			continue
		}
		if index+1 >= len(data) || data[index+1] != 'u' {
			index++ // Skip the escaped character, which may be a backslash.
			continue
		}
		unit, ok := hexUnit(data, index+2)
		if !ok {
			return false // The decoder rejects the malformed escape.
		}
		index += 5
		switch {
		case unit >= 0xDC00 && unit <= 0xDFFF:
			return true
		case unit >= 0xD800 && unit <= 0xDBFF:
			if index+2 >= len(data) || data[index+1] != '\\' || data[index+2] != 'u' {
				return true
			}
			low, ok := hexUnit(data, index+3)
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			index += 6
		}
	}
	return false
}

// hexUnit parses the four hexadecimal digits at data[start:start+4].
func hexUnit(data []byte, start int) (uint16, bool) {
	if start+4 > len(data) {
		return 0, false
	}
	unit, err := strconv.ParseUint(string(data[start:start+4]), 16, 16)
	return uint16(unit), err == nil
}

// encodeJSON writes value as compact JSON without the HTML escaping of json.Marshal.
func encodeJSON(value any) ([]byte, error) {
	var buffer bytes.Buffer
	encoder := json.NewEncoder(&buffer)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(value); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buffer.Bytes(), []byte("\n")), nil
}
