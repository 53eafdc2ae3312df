package elasticsearchexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func loadConfig(t *testing.T, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		id      string
		wantErr string // empty: valid
		check   func(t *testing.T, c *Config)
	}{
		{id: "elasticsearch", check: func(t *testing.T, c *Config) {
			if c.LogsIndex != "logs-generic-default" || c.TracesIndex != "traces-generic-default" {
				t.Errorf("default indices: %q %q", c.LogsIndex, c.TracesIndex)
			}
			if !c.QueueBatchConfig.HasValue() || !c.BackOffConfig.Enabled {
				t.Errorf("sending_queue and retry_on_failure must be on by default")
			}
			if c.Timeout != 30*time.Second {
				t.Errorf("timeout %v", c.Timeout)
			}
		}},
		{id: "elasticsearch/full", check: func(t *testing.T, c *Config) {
			if len(c.Endpoints) != 2 || c.User != "writer" || string(c.Password) != "secret" {
				t.Errorf("endpoints/auth: %+v", c)
			}
			if !c.LogstashFormat.Enabled || !c.LogsDynamicID.Enabled || c.Timeout != 10*time.Second {
				t.Errorf("flags: %+v", c)
			}
			q := c.QueueBatchConfig.Get()
			if q.QueueSize != 50000 || q.NumConsumers != 2 || q.StorageID == nil || *q.StorageID != component.MustNewIDWithName("file_storage", "es") {
				t.Errorf("queue: %+v", q)
			}
			if b := q.Batch.Get(); b.MaxSize != 2000 || b.MinSize != 500 || b.FlushTimeout != 500*time.Millisecond {
				t.Errorf("batch: %+v", b)
			}
			if c.BackOffConfig.MaxElapsedTime != 0 || c.BackOffConfig.InitialInterval != time.Second {
				t.Errorf("retry: %+v", c.BackOffConfig)
			}
			n, _ := newIndexNamer(c.LogsIndex, c.LogstashFormat)
			if got := n.name(time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)); got != "logs-alertingscout-2026.11.28" {
				t.Errorf("daily index %q", got)
			}
		}},
		{id: "elasticsearch/unknown_key", wantErr: "invalid keys: index"},
		{id: "elasticsearch/no_endpoint", wantErr: "at least one Elasticsearch URL"},
		{id: "elasticsearch/bad_scheme", wantErr: "must use http or https"},
		{id: "elasticsearch/user_without_password", wantErr: "password is required"},
		{id: "elasticsearch/apikey_and_user", wantErr: "mutually exclusive"},
		{id: "elasticsearch/bad_mode", wantErr: "not supported"},
		{id: "elasticsearch/bad_date_format", wantErr: "unsupported verb"},
		{id: "elasticsearch/uppercase_index", wantErr: "must be lowercase"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.id)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tt.check(t, cfg)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
			}
		})
	}
}

func TestDateFormat(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct{ in, want string }{
		{"%Y.%m.%d", "2026.01.02"},
		{"%Y-%m-%d-%H", "2026-01-02-03"},
		{"%y%j", "26002"},
	} {
		layout, err := compileDateFormat(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := ts.Format(layout); got != tt.want {
			t.Errorf("%s: got %s want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "%", "%Q", "%Y/%m", "2026%Y"} {
		if _, err := compileDateFormat(bad); err == nil {
			t.Errorf("%q should be rejected", bad)
		}
	}
}
