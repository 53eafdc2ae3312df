package elasticsearchexporter

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadata"
)

// TestFactory checks what the factory declares (type, signals and their
// stability) and that it builds a working exporter for each signal, or fails
// at creation on a configuration newExporter cannot use. The generated
// TestComponentLifecycle covers start/consume/shutdown with metadata.yaml's
// test config; TestConfig covers the defaults and Validate.
func TestFactory(t *testing.T) {
	f := NewFactory()
	if got := f.Type().String(); got != "elasticsearch" {
		t.Fatalf("type %q, want elasticsearch", got)
	}
	for _, tt := range []struct {
		signal pipeline.Signal
		got    component.StabilityLevel
		want   component.StabilityLevel
	}{
		{pipeline.SignalLogs, f.LogsStability(), component.StabilityLevelDevelopment},
		{pipeline.SignalTraces, f.TracesStability(), component.StabilityLevelDevelopment},
		{pipeline.SignalMetrics, f.MetricsStability(), component.StabilityLevelUndefined},
	} {
		if tt.got != tt.want {
			t.Errorf("%s stability %v, want %v", tt.signal, tt.got, tt.want)
		}
	}
	if _, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig()); err == nil {
		t.Errorf("metrics must not be supported")
	}

	create := map[string]func(context.Context, exporter.Settings, component.Config) (component.Component, error){
		"logs": func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error) {
			return f.CreateLogs(ctx, set, cfg)
		},
		"traces": func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error) {
			return f.CreateTraces(ctx, set, cfg)
		},
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // empty: created, started and shut down
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "daily indices, no queue", mutate: func(c *Config) {
			c.LogstashFormat.Enabled = true
			c.QueueBatchConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		}},
		{name: "unusable date format", mutate: func(c *Config) {
			c.LogstashFormat.Enabled = true
			c.LogstashFormat.DateFormat = "%Q"
		}, wantErr: "unsupported verb"},
	}
	for _, tt := range tests {
		for signal, fn := range create {
			t.Run(tt.name+"/"+signal, func(t *testing.T) {
				cfg := f.CreateDefaultConfig().(*Config)
				cfg.Endpoints = []string{"http://127.0.0.1:1"}
				tt.mutate(cfg)
				c, err := fn(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
					}
					return
				}
				if err != nil || c == nil {
					t.Fatalf("create: %v", err)
				}
				if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
					t.Fatalf("start: %v", err)
				}
				if err := c.Shutdown(context.Background()); err != nil {
					t.Fatalf("shutdown: %v", err)
				}
			})
		}
	}
}
