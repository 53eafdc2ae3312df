package collectorconfig

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Both shipped configs run the redaction processor right after memory_limiter
// in the logs and traces pipelines, with the same settings, keeping every key.
func TestShippedConfigsRedactLogsAndTraces(t *testing.T) {
	var first *Redaction
	for _, name := range Shipped {
		t.Run(name, func(t *testing.T) {
			c, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"logs", "traces"} {
				got := c.Service.Pipelines[p].Processors
				if want := []string{"memory_limiter", "redaction"}; !slices.Equal(got, want) {
					t.Errorf("pipeline %s: processors %v, want %v", p, got, want)
				}
			}
			r, err := c.Redaction()
			if err != nil {
				t.Fatal(err)
			}
			if !r.AllowAllKeys {
				t.Error("allow_all_keys must be true: without it every attribute not listed in allowed_keys is dropped")
			}
			if !r.RedactAllTypes {
				t.Error("redact_all_types must be true: int and slice/map values are checked by their string form")
			}
			if r.Summary != "info" {
				t.Errorf("summary %q, want info (counts of masked values; see the comment in %s)", r.Summary, name)
			}
			if r.MaskingString != "" || r.HashFunction != "" {
				t.Errorf("masking_string %q / hash_function %q: the mask must stay the default %q", r.MaskingString, r.HashFunction, Mask)
			}
			if len(r.AllowedValues)+len(r.IgnoredKeys)+len(r.IgnoredKeyPatterns) > 0 {
				t.Error("allowed_values / ignored_keys exempt whole values from masking: not used on purpose")
			}
			if len(r.BlockedValues) == 0 || len(r.BlockedKeyPatterns) == 0 {
				t.Error("no blocked_values or blocked_key_patterns")
			}
			if d := r.HasDollar(); len(d) > 0 {
				t.Errorf("patterns with $ (the Collector's resolver would rewrite them): %q", d)
			}
			if _, err := r.Compile(); err != nil {
				t.Error(err)
			}
			if first == nil {
				first = &r
			} else if !reflect.DeepEqual(*first, r) {
				t.Errorf("%s's redaction differs from %s's", name, Shipped[0])
			}
		})
	}
}

func shippedMasker(t *testing.T) *Masker {
	t.Helper()
	c, err := Load("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Redaction()
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Every corpus value against the exact regexes of config.yaml, applied as the
// processor applies them.
func TestRedactionPatterns(t *testing.T) {
	m := shippedMasker(t)
	for _, tc := range append(append([]ValueCase(nil), SecretValues...), PlainValues...) {
		t.Run(tc.Name, func(t *testing.T) {
			out := m.Value(tc.In)
			t.Logf("%q -> %q", tc.In, out)
			if !tc.Mask {
				if out != tc.In {
					t.Fatalf("%q was changed to %q", tc.In, out)
				}
				return
			}
			if !strings.Contains(out, Mask) {
				t.Fatalf("%q not masked: %q", tc.In, out)
			}
			for _, s := range tc.SecretParts() {
				if strings.Contains(out, s) {
					t.Errorf("%q -> %q still holds %q", tc.In, out, s)
				}
			}
		})
	}
}

// Attribute keys whose whole value is masked, and our keys that must not be.
func TestRedactionKeyPatterns(t *testing.T) {
	m := shippedMasker(t)
	cases := []struct {
		key  string
		mask bool
	}{
		{"password", true},
		{"db.password", true},
		{"user_passwd", true},
		{"pwd", true},
		{"client_secret", true},
		{"http.request.header.authorization", true},
		{"http.request.header.cookie", true},
		{"http.response.header.set-cookie", true},
		{"http.request.header.x-api-key", true},
		{"api_key", true},
		{"apiKey", true},
		{"access_token", true},
		{"auth.token", true},
		{"aws.credentials", true},
		{"tls.private_key", true},
		{"passphrase", true},

		{"trace.id", false},
		{"span.id", false},
		{"trace_id", false},
		{"request_id", false},
		{"user.id", false},
		{"project.id", false},
		{"todo.id", false},
		{"error.type", false},
		{"error.message", false},
		{"exception.stacktrace", false},
		{"http.route", false},
		{"http.request.method", false},
		{"http.request.method_original", false},
		{"http.response.status_code", false},
		{"url.path", false},
		{"url.query", false},
		{"url.scheme", false},
		{"db.system.name", false},
		{"db.operation.name", false},
		{"db.collection.name", false},
		{"service.name", false},
		{"service.instance.id", false},
		{"deployment.environment.name", false},
		{"host.name", false},
		{"duration_ms", false},
		{"seq", false},
		{"event.name", false},
	}
	for _, tc := range cases {
		if got := m.Key(tc.key); got != tc.mask {
			t.Errorf("key %q: masked=%v, want %v", tc.key, got, tc.mask)
		}
	}
}

// The cost of the patterns on a typical record's strings (one log record of
// the service carries about this many string attributes).
func BenchmarkRedactionPatterns(b *testing.B) {
	c, err := Load("config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	r, err := c.Redaction()
	if err != nil {
		b.Fatal(err)
	}
	m, err := r.Compile()
	if err != nil {
		b.Fatal(err)
	}
	attrs := []string{
		"0192f0a4-7c1e-7b3a-9f1d-2b6c8e4a1d3f", "u_4f1c2a9e0b7d3c5a8e6f1b2c3d4e5f60", "p-13", "t-4242",
		"POST", "/projects/{id}/todos", "/projects/13/todos", "http", "alertingscout", "0.1.0",
		"request finished", "it-host",
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, a := range attrs {
			if m.Value(a) != a {
				b.Fatal("masked")
			}
		}
	}
}
