package collectorconfig

// The corpus of the redaction tests (here rather than in a _test file so the
// integration test in the parent package shares it).

// ValueCase is one corpus value: must it be masked, and which raw parts must
// then be gone.
type ValueCase struct {
	Name, In string
	Mask     bool
	// Secrets are substrings that must not survive (default: In itself).
	Secrets []string
}

// SecretValues are values the processor must mask, as found in attributes,
// URL paths, query strings and error messages. TestRedactionPatterns runs them
// against config.yaml's regexes; the integration test sends them through the
// real Collector into Elasticsearch.
var SecretValues = []ValueCase{
	{Name: "email", In: "alice@example.com", Mask: true},
	{Name: "email in a sentence", In: "no account for Bob.Smith+test@mail.example.co.uk, retry", Mask: true, Secrets: []string{"Bob.Smith+test@mail.example.co.uk"}},
	{Name: "email percent-encoded in a path", In: "/projects/alice%40example.com/todos", Mask: true, Secrets: []string{"alice%40example.com"}},
	{Name: "visa 16", In: "4111111111111111", Mask: true},
	{Name: "visa 13", In: "4222222222222", Mask: true},
	{Name: "visa spaces", In: "card 4111 1111 1111 1111 declined", Mask: true, Secrets: []string{"4111 1111 1111 1111"}},
	{Name: "visa dashes", In: "4111-1111-1111-1111", Mask: true},
	{Name: "visa mixed separators", In: "4111-1111 1111-1111", Mask: true},
	{Name: "visa %20 in a path", In: "/pay/4111%201111%201111%201111", Mask: true, Secrets: []string{"4111%201111%201111%201111"}},
	{Name: "mastercard", In: "5555555555554444", Mask: true},
	{Name: "mastercard 2-series", In: "2223003122003222", Mask: true},
	{Name: "amex", In: "378282246310005", Mask: true},
	{Name: "amex grouped 4-6-5", In: "3782 822463 10005", Mask: true},
	{Name: "diners grouped 4-6-4", In: "3056-930902-5904", Mask: true},
	{Name: "discover", In: "6011111111111117", Mask: true},
	{Name: "jcb", In: "3530111333300000", Mask: true},
	{Name: "unionpay 19", In: "6205500000000000004", Mask: true},
	{Name: "card 16+3 grouped", In: "6205 5000 0000 0000 004", Mask: true},
	{Name: "card in a path", In: "/projects/4111111111111111/todos", Mask: true, Secrets: []string{"4111111111111111"}},
	{Name: "card after %20", In: "/pay/card%204111111111111111", Mask: true, Secrets: []string{"4111111111111111"}},
	{Name: "card after a newline", In: "card:\n5555555555554444", Mask: true, Secrets: []string{"5555555555554444"}},
	{Name: "card in json", In: `{"card":"5555555555554444"}`, Mask: true, Secrets: []string{"5555555555554444"}},
	{Name: "bearer", In: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", Mask: true, Secrets: []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}},
	{Name: "bearer lowercase in text", In: "auth failed for bearer abc.def-ghi_123~/+= here", Mask: true, Secrets: []string{"abc.def-ghi_123"}},
	{Name: "bearer %20", In: "/x?h=Bearer%20tok3n.value", Mask: true, Secrets: []string{"tok3n.value"}},
	{Name: "stripe live", In: "sk_live_4eC39HqLyjWDarjtT1zdp7dc", Mask: true},
	{Name: "stripe test", In: "key sk_test_51HxYzAbCdEf", Mask: true, Secrets: []string{"sk_test_51HxYzAbCdEf"}},
	{Name: "aws access key id", In: "AKIAIOSFODNN7EXAMPLE", Mask: true},
	{Name: "github classic", In: "ghp_1234567890abcdefghijABCDEFGHIJ123456", Mask: true},
	{Name: "github fine-grained", In: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", Mask: true},
	{Name: "slack bot", In: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", Mask: true},
	{Name: "slack user", In: "xoxp-1234567890-abcdefghij", Mask: true},
	{Name: "password param", In: "/login?user=bob&password=hunter2", Mask: true, Secrets: []string{"hunter2"}},
	{Name: "passwd param", In: "passwd=s3cr3t!", Mask: true, Secrets: []string{"s3cr3t!"}},
	{Name: "pwd param", In: "db?pwd=Tr0ub4dor&3", Mask: true, Secrets: []string{"Tr0ub4dor"}},
	{Name: "secret param", In: "client_secret=abcDEF123&grant_type=x", Mask: true, Secrets: []string{"abcDEF123"}},
	{Name: "token params", In: "x?token=T0kenV4l&api_key=ApiK3yV4l&access_token=Acc3ssV4l&apikey=ApiK3y2V4l&key=K3yV4lue", Mask: true, Secrets: []string{"T0kenV4l", "ApiK3yV4l", "Acc3ssV4l", "ApiK3y2V4l", "K3yV4lue"}},
	{Name: "camelCase token param", In: "?authToken=zz99yy88", Mask: true, Secrets: []string{"zz99yy88"}},
	{Name: "refresh_token param", In: "refresh_token=r3fr3sh", Mask: true, Secrets: []string{"r3fr3sh"}},
	{Name: "api-key header style param", In: "x-api-key=k3yv4lu3", Mask: true, Secrets: []string{"k3yv4lu3"}},
	{Name: "matrix param", In: "/login;password=hunter2;x=1", Mask: true, Secrets: []string{"hunter2"}},
	{Name: "uppercase param", In: "PASSWORD=Hunter2", Mask: true, Secrets: []string{"Hunter2"}},
}

// PlainValues must pass untouched: our ids, routes, times and numbers.
var PlainValues = []ValueCase{
	{Name: "trace id", In: "4bf92f3577b34da6a3ce929d0e0e4736"},
	{Name: "trace id with a long digit run", In: "a4111111111111111111111111111111"},
	{Name: "trace id starting with digits", In: "41111111111111119d0e0e4736abcdef"},
	{Name: "span id", In: "00f067aa0ba902b7"},
	{Name: "span id with digit run", In: "4111111111111a2b"},
	{Name: "traceparent", In: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	{Name: "uuidv7 request id", In: "0192f0a4-7c1e-7b3a-9f1d-2b6c8e4a1d3f"},
	{Name: "uuid with all-digit groups", In: "42345678-4234-7123-8123-123456789012"},
	{Name: "uuidv4", In: "550e8400-e29b-41d4-a716-446655440000"},
	{Name: "user pseudonym", In: "u_4111111111111111a3ce929d0e0e4736"},
	{Name: "iso timestamp", In: "2026-12-01T18:11:34.123456789Z"},
	{Name: "iso timestamp with offset", In: "2026-12-01 18:11:34.123+01:00"},
	{Name: "compact timestamp", In: "20261201181134123"},
	{Name: "epoch ms", In: "1764612694123"},
	{Name: "epoch ns", In: "1764612694123456789"},
	{Name: "route", In: "/projects/{id}/todos"},
	{Name: "path with small ids", In: "/projects/123/todos/45"},
	{Name: "path with 12 digits", In: "/projects/412345678901/todos"},
	{Name: "20 digits", In: "41111111111111111111"},
	{Name: "list of small integers", In: "ids 3 4 5 6 7 8 9 10 11 12 13 14 15 16"},
	{Name: "duration", In: "took 1.234567s (1234567 us)"},
	{Name: "duration ns", In: "1500000ns"},
	{Name: "status code", In: "503"},
	{Name: "double (redact_all_types)", In: "3.4567891234567891"},
	{Name: "negative double", In: "-0.5678901234567891"},
	{Name: "double with exponent", In: "4.567891234567891e-7"},
	{Name: "decimal in text", In: "duration_ms=4.567891234567891 done"},
	{Name: "status line", In: "HTTP/1.1 404 Not Found"},
	{Name: "ipv4", In: "192.168.100.200:8080"},
	{Name: "version", In: "alertingscout/0.1.0 otelcol@v0.165.1"},
	{Name: "image digest", In: "alpine@sha256:0123456789abcdef"},
	{Name: "query without secrets", In: "/todos?page=2&per_page=50&sort=asc"},
	{Name: "tokens count param", In: "max_tokens=5&tokens=7"},
	{Name: "monkey param", In: "monkey=banana"},
	{Name: "already masked at the source", In: "/login;password=****"},
	{Name: "mask", In: "****"},
	{Name: "error message", In: "todo 42 not found in project 7"},
	{Name: "sql", In: "SELECT id, title FROM todos WHERE project_id = ?1 LIMIT 100"},
}

// SecretParts are the substrings that must not survive masking.
func (v ValueCase) SecretParts() []string {
	if v.Secrets != nil {
		return v.Secrets
	}
	return []string{v.In}
}
