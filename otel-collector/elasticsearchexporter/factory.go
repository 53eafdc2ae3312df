package elasticsearchexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadata"
)

// NewFactory creates the factory of the elasticsearch exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	qs := exporterhelper.NewDefaultQueueConfig()
	qs.Sizer = exporterhelper.RequestSizerTypeItems
	qs.QueueSize = 100_000
	qs.NumConsumers = 4
	batch := exporterhelper.NewDefaultBatchConfig()
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.FlushTimeout = time.Second
	batch.MinSize = 1000
	batch.MaxSize = 5000
	qs.Batch = configoptional.Some(batch)

	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = 30 * time.Second
	return &Config{
		LogsIndex:   "logs-generic-default",
		TracesIndex: "traces-generic-default",
		LogstashFormat: LogstashFormatSettings{
			Enabled:         false,
			PrefixSeparator: "-",
			DateFormat:      "%Y.%m.%d",
		},
		Mapping:          MappingsSettings{Mode: mappingModeECS},
		TimeoutConfig:    timeout,
		QueueBatchConfig: configoptional.Some(qs),
		BackOffConfig:    configretry.NewDefaultBackOffConfig(),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Logs, error) {
	cfg := c.(*Config)
	exp, err := newExporter(cfg, set, signalLogs)
	if err != nil {
		return nil, err
	}
	logs, err := exporterhelper.NewLogs(ctx, set, cfg, exp.pushLogs, helperOptions(cfg, exp)...)
	if g := newStorageGuard(cfg, set.Logger); err == nil && g != nil {
		return guardedLogs{Logs: logs, g: g}, nil // see storage_guard.go
	}
	return logs, err
}

func createTraces(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Traces, error) {
	cfg := c.(*Config)
	exp, err := newExporter(cfg, set, signalTraces)
	if err != nil {
		return nil, err
	}
	traces, err := exporterhelper.NewTraces(ctx, set, cfg, exp.pushTraces, helperOptions(cfg, exp)...)
	if g := newStorageGuard(cfg, set.Logger); err == nil && g != nil {
		return guardedTraces{Traces: traces, g: g}, nil // see storage_guard.go
	}
	return traces, err
}

// helperOptions are the exporterhelper settings shared by both signals.
func helperOptions(cfg *Config, exp *esExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(cfg.TimeoutConfig),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.QueueBatchConfig),
	}
}
