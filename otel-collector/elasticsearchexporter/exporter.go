package elasticsearchexporter

import (
	"context"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"
)

// signal holds what differs between the logs and the traces instance of the
// exporter beyond the pdata types.
type signal struct {
	name  string // value of the `signal` metric attribute
	items string // the signal's records in messages and log fields
	item  string // one record, in messages
}

var (
	signalLogs   = signal{name: "logs", items: "log records", item: "log record"}
	signalTraces = signal{name: "traces", items: "spans", item: "span"}
)

// esExporter is one instance (one signal) of the exporter: exporterhelper
// calls start, push (pushLogs or pushTraces) and shutdown.
type esExporter struct {
	cfg       *Config
	signal    signal
	logger    *zap.Logger
	tel       *telemetry
	transport *http.Transport
	client    *elasticsearch.Client
	logsIdx   indexNamer
	tracesIdx indexNamer
}

func newExporter(cfg *Config, set exporter.Settings, sig signal) (*esExporter, error) {
	tel, err := newTelemetry(set.TelemetrySettings, set.ID, sig)
	if err != nil {
		return nil, err
	}
	logsIdx, err := newIndexNamer(cfg.LogsIndex, cfg.LogstashFormat)
	if err != nil {
		return nil, err
	}
	tracesIdx, err := newIndexNamer(cfg.TracesIndex, cfg.LogstashFormat)
	if err != nil {
		return nil, err
	}
	return &esExporter{
		cfg: cfg, signal: sig, logger: set.Logger, tel: tel,
		logsIdx: logsIdx, tracesIdx: tracesIdx,
	}, nil
}

func (e *esExporter) start(ctx context.Context, _ component.Host) error {
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading tls config: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 64
	client, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: e.cfg.Endpoints,
		Username:  e.cfg.User,
		Password:  string(e.cfg.Password),
		APIKey:    string(e.cfg.APIKey),
		Transport: tr,
		// Retries belong to exporterhelper's retry_on_failure, which only
		// re-sends the items that need it.
		DisableRetry: true,
	})
	if err != nil {
		return fmt.Errorf("creating Elasticsearch client: %w", err)
	}
	e.transport = tr
	e.client = client
	return nil
}

// shutdown closes the idle keep-alive connections to Elasticsearch (the
// client's own transport wrapper has no such method, so the exporter keeps
// the *http.Transport it built) and releases the telemetry builder.
func (e *esExporter) shutdown(context.Context) error {
	if e.transport != nil {
		e.transport.CloseIdleConnections()
	}
	e.tel.shutdown()
	return nil
}
