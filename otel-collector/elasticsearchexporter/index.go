package elasticsearchexporter

import (
	"fmt"
	"strings"
	"time"
)

// indexNamer gives the target index of a document from its timestamp.
type indexNamer struct {
	base   string
	daily  bool
	sep    string
	layout string // Go time layout compiled from the strftime-like date_format
}

func newIndexNamer(base string, lf LogstashFormatSettings) (indexNamer, error) {
	n := indexNamer{base: base, daily: lf.Enabled, sep: lf.PrefixSeparator}
	if lf.Enabled {
		layout, err := compileDateFormat(lf.DateFormat)
		if err != nil {
			return n, err
		}
		n.layout = layout
	}
	return n, nil
}

// name returns the index for a document stamped t (UTC date).
func (n indexNamer) name(t time.Time) string {
	if !n.daily {
		return n.base
	}
	return n.base + n.sep + t.UTC().Format(n.layout)
}

// compileDateFormat turns a strftime-like layout (%Y.%m.%d) into a Go layout.
func compileDateFormat(f string) (string, error) {
	if f == "" {
		return "", fmt.Errorf("must not be empty")
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if strings.ContainsRune("0123456789", rune(c)) {
				return "", fmt.Errorf("digits are not allowed outside verbs in %q", f)
			}
			if strings.ContainsAny(string(c), ` "*\<|,>/?#:`) || strings.ToLower(string(c)) != string(c) {
				return "", fmt.Errorf("character %q is not allowed in an index name", c)
			}
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return "", fmt.Errorf("dangling %% in %q", f)
		}
		switch f[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'H':
			b.WriteString("15")
		case 'j':
			b.WriteString("002")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unsupported verb %%%c in %q", f[i], f)
		}
	}
	return b.String(), nil
}
