// Package collectorconfig reads the Collector configs we ship
// (otel-collector/config.yaml and config-swap.yaml), so tests check the exact
// settings the stack runs rather than a copy of them.
package collectorconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Shipped lists the configs of otel-collector/, by file name.
var Shipped = []string{"config.yaml", "config-swap.yaml"}

// Mask is what the redaction processor writes in place of a match (its
// default, which our config keeps; the service masks with the same string).
const Mask = "****"

// Dir is the otel-collector folder (found from this file, so it does not
// depend on the test's working directory).
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("runtime.Caller failed")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Pipeline is one service pipeline.
type Pipeline struct {
	Receivers  []string `yaml:"receivers"`
	Processors []string `yaml:"processors"`
	Exporters  []string `yaml:"exporters"`
}

// Config is the part of a Collector config the tests look at.
type Config struct {
	Path       string
	Processors map[string]map[string]any `yaml:"processors"`
	Service    struct {
		Pipelines map[string]Pipeline `yaml:"pipelines"`
	} `yaml:"service"`
}

// Load parses a shipped config by file name (e.g. "config.yaml").
func Load(name string) (*Config, error) {
	path := filepath.Join(Dir(), name)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &Config{Path: path}
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Redaction is the `redaction` processor's settings that decide what is masked.
type Redaction struct {
	AllowAllKeys       bool     `yaml:"allow_all_keys"`
	RedactAllTypes     bool     `yaml:"redact_all_types"`
	Summary            string   `yaml:"summary"`
	BlockedKeyPatterns []string `yaml:"blocked_key_patterns"`
	BlockedValues      []string `yaml:"blocked_values"`
	AllowedValues      []string `yaml:"allowed_values"`
	IgnoredKeys        []string `yaml:"ignored_keys"`
	IgnoredKeyPatterns []string `yaml:"ignored_key_patterns"`
	HashFunction       string   `yaml:"hash_function"`
	MaskingString      string   `yaml:"masking_string"`
}

// Redaction decodes the `redaction` processor of the config.
func (c *Config) Redaction() (Redaction, error) {
	var r Redaction
	raw, ok := c.Processors["redaction"]
	if !ok {
		return r, fmt.Errorf("%s: no processors.redaction", c.Path)
	}
	b, err := yaml.Marshal(raw)
	if err != nil {
		return r, err
	}
	return r, yaml.Unmarshal(b, &r)
}

// RedactionOverlay is a config to pass after a test config (`--config
// test.yaml --config overlay.yaml`; the Collector merges maps and replaces
// lists): the shipped redaction processor as it is, and the shipped logs and
// traces pipelines' processor lists, so a test Collector redacts exactly as
// the shipped one does.
func (c *Config) RedactionOverlay() ([]byte, error) {
	raw, ok := c.Processors["redaction"]
	if !ok {
		return nil, fmt.Errorf("%s: no processors.redaction", c.Path)
	}
	pipelines := map[string]any{}
	for _, name := range []string{"logs", "traces"} {
		p, ok := c.Service.Pipelines[name]
		if !ok {
			return nil, fmt.Errorf("%s: no %s pipeline", c.Path, name)
		}
		pipelines[name] = map[string]any{"processors": p.Processors}
	}
	return yaml.Marshal(map[string]any{
		"processors": map[string]any{"redaction": raw},
		"service":    map[string]any{"pipelines": pipelines},
	})
}

// Masker applies a Redaction's patterns the way the processor does
// (redactionprocessor v0.165.1, processStringValueForAttribute and
// processStringValueForLogBody): each blocked_values regex in order, every
// match replaced by the mask; a key matching blocked_key_patterns has its
// whole value masked.
type Masker struct {
	values []*regexp.Regexp
	keys   []*regexp.Regexp
}

// Compile compiles the patterns with Go's regexp, as the processor does.
func (r Redaction) Compile() (*Masker, error) {
	m := &Masker{}
	for _, p := range r.BlockedValues {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("blocked_values %q: %w", p, err)
		}
		m.values = append(m.values, re)
	}
	for _, p := range r.BlockedKeyPatterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("blocked_key_patterns %q: %w", p, err)
		}
		m.keys = append(m.keys, re)
	}
	return m, nil
}

// Value returns s with every blocked value masked.
func (m *Masker) Value(s string) string {
	for _, re := range m.values {
		if re.MatchString(s) {
			s = re.ReplaceAllStringFunc(s, func(string) string { return Mask })
		}
	}
	return s
}

// Key reports whether the whole value of attribute key k is masked.
func (m *Masker) Key(k string) bool {
	for _, re := range m.keys {
		if re.MatchString(k) {
			return true
		}
	}
	return false
}

// Patterns returns every pattern of the Redaction (for checks on their text).
func (r Redaction) Patterns() []string {
	return append(append([]string(nil), r.BlockedValues...), r.BlockedKeyPatterns...)
}

// HasDollar reports patterns with a "$": the Collector's config resolver
// treats "$" specially (${...} expansion, "$$" escape), so such a pattern
// would not reach the processor as the test reads it.
func (r Redaction) HasDollar() []string {
	var out []string
	for _, p := range r.Patterns() {
		if strings.Contains(p, "$") {
			out = append(out, p)
		}
	}
	return out
}
