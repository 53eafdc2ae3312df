package elasticsearchexporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// maxLoggedFailures bounds the per-document error lines logged per bulk;
// every failure is counted regardless.
const maxLoggedFailures = 20

type esExporter struct {
	cfg       *Config
	set       exporter.Settings
	logger    *zap.Logger
	tel       *telemetry
	client    *elasticsearch.Client
	logsIdx   indexNamer
	tracesIdx indexNamer
}

func newExporter(cfg *Config, set exporter.Settings, signal string) (*esExporter, error) {
	tel, err := newTelemetry(set.TelemetrySettings, set.ID, signal)
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
		cfg: cfg, set: set, logger: set.Logger, tel: tel,
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
	e.client = client
	return nil
}

func (e *esExporter) shutdown(context.Context) error {
	if e.client != nil {
		if tr, ok := e.client.Transport.(interface{ CloseIdleConnections() }); ok {
			tr.CloseIdleConnections()
		}
	}
	return nil
}

// bulkSummary tells the caller what to do with the batch.
type bulkSummary struct {
	retryPos map[int]struct{} // positions to send again
	indexed  int              // indexed or already indexed
	failed   int              // permanently failed
	firstErr string           // first permanent failure reason
}

// sendBulk sends one _bulk request with every item of the batch and reads
// every item's result. A non-nil error means the whole request must be
// retried (retryable) or dropped (permanent).
func (e *esExporter) sendBulk(ctx context.Context, signal string, items []bulkItem) (bulkSummary, error) {
	sum := bulkSummary{}
	// A fresh buffer per request: net/http may still read a request body
	// after RoundTrip returned, so pooled buffers could be overwritten.
	size := 0
	for _, it := range items {
		size += len(it.doc) + len(it.index) + len(it.id) + 32
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	writeBulkBody(buf, items)

	start := time.Now()
	res, err := e.client.Bulk(bytes.NewReader(buf.Bytes()),
		e.client.Bulk.WithContext(ctx),
		e.client.Bulk.WithFilterPath(bulkFilterPath...))
	if err != nil {
		e.tel.recordBulk(ctx, false, time.Since(start))
		e.tel.addDocs(ctx, outcomeRetried, len(items))
		return sum, fmt.Errorf("_bulk request with %d %s failed: %w", len(items), signal, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e.tel.recordBulk(ctx, false, time.Since(start))
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		err := fmt.Errorf("_bulk request with %d %s: HTTP %d: %s", len(items), signal, res.StatusCode, bytes.TrimSpace(msg))
		if res.StatusCode == 429 || res.StatusCode >= 500 {
			e.tel.addDocs(ctx, outcomeRetried, len(items))
			return sum, err
		}
		for range items {
			e.tel.addFailedDoc(ctx, fmt.Sprintf("http_%d", res.StatusCode))
		}
		e.logger.Error("Elasticsearch rejected the whole _bulk request; documents dropped",
			zap.String("signal", signal), zap.Int("documents", len(items)), zap.Int("status", res.StatusCode),
			zap.ByteString("reason", bytes.TrimSpace(msg)))
		return sum, consumererror.NewPermanent(err)
	}
	results, err := readBulkResponse(res.Body, items)
	e.tel.recordBulk(ctx, err == nil, time.Since(start))
	if err != nil {
		e.tel.addDocs(ctx, outcomeRetried, len(items))
		return sum, err
	}
	counts := map[outcome]int{}
	logged := 0
	for _, r := range results {
		counts[r.outcome]++
		switch r.outcome {
		case outcomeIndexed, outcomeDuplicate:
			sum.indexed++
		case outcomeRetried:
			if sum.retryPos == nil {
				sum.retryPos = map[int]struct{}{}
			}
			sum.retryPos[r.item.pos] = struct{}{}
		case outcomeFailed:
			sum.failed++
			errType := "unknown"
			if sum.firstErr == "" {
				sum.firstErr = r.reason
			}
			if i := bytes.IndexByte([]byte(r.reason), ':'); i > 0 {
				errType = r.reason[:i]
			}
			e.tel.addFailedDoc(ctx, errType)
			if logged < maxLoggedFailures {
				logged++
				e.logger.Error("Elasticsearch rejected a document; it is dropped (not retried)",
					zap.String("signal", signal), zap.String("index", r.item.index), zap.String("id", r.item.id),
					zap.Int("status", r.status), zap.String("reason", r.reason))
			}
		}
	}
	e.tel.addDocs(ctx, outcomeIndexed, counts[outcomeIndexed])
	e.tel.addDocs(ctx, outcomeDuplicate, counts[outcomeDuplicate])
	e.tel.addDocs(ctx, outcomeRetried, counts[outcomeRetried])
	if sum.failed > maxLoggedFailures {
		e.logger.Error("more documents were rejected than logged", zap.String("signal", signal), zap.Int("failed", sum.failed))
	}
	return sum, nil
}

// finish turns a bulk summary into the error exporterhelper acts on.
func finish(sum bulkSummary, encodeFailed int, total int, partial func(error) error) error {
	if len(sum.retryPos) > 0 {
		// Only the retryable items go back to retry_on_failure.
		return partial(fmt.Errorf("%d of %d documents must be retried (429/5xx)", len(sum.retryPos), total))
	}
	if sum.indexed == 0 && (sum.failed > 0 || encodeFailed > 0) {
		return consumererror.NewPermanent(fmt.Errorf("all %d documents were rejected by Elasticsearch: %s", total, sum.firstErr))
	}
	return nil
}

// dropUnencodable counts and logs a record that cannot become a document.
func (e *esExporter) dropUnencodable(ctx context.Context, what string, err error) {
	e.tel.addFailedDoc(ctx, "encoding_error")
	e.logger.Error("could not encode a "+what+"; it is dropped", zap.Error(err))
}

// sendEncoded indexes one batch's encoded items (total counts the unencodable
// ones too); retryAs rebuilds the batch of the positions to retry, typed for
// the signal, so exporterhelper retries only those.
func (e *esExporter) sendEncoded(ctx context.Context, what string, items []bulkItem, encodeFailed, total int,
	retryAs func(retry map[int]struct{}, err error) error) error {
	if len(items) == 0 {
		if encodeFailed > 0 {
			return consumererror.NewPermanent(fmt.Errorf("no %s could be encoded", what))
		}
		return nil
	}
	sum, err := e.sendBulk(ctx, what, items)
	if err != nil {
		return err
	}
	return finish(sum, encodeFailed, total, func(err error) error {
		return retryAs(sum.retryPos, err)
	})
}

func (e *esExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	items := make([]bulkItem, 0, ld.LogRecordCount())
	encodeFailed := 0
	pos := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				doc, err := encodeLog(rl.Resource(), sl.Scope(), lr, e.cfg.LogsDynamicID.Enabled)
				if err != nil {
					encodeFailed++
					e.dropUnencodable(ctx, "log record", err)
				} else {
					items = append(items, bulkItem{
						index: e.logsIdx.name(logTimestamp(lr)),
						id:    logDocumentID(lr, doc, e.cfg.LogsDynamicID.Enabled),
						doc:   doc,
						pos:   pos,
					})
				}
				pos++
			}
		}
	}
	return e.sendEncoded(ctx, "log records", items, encodeFailed, pos, func(retry map[int]struct{}, err error) error {
		return consumererror.NewLogs(err, selectLogs(ld, retry))
	})
}

// selectLogs copies the records at the given positions into a new plog.Logs.
func selectLogs(ld plog.Logs, keep map[int]struct{}) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	pos := 0
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				_, ok := keep[pos]
				pos++
				return !ok
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}

func (e *esExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	items := make([]bulkItem, 0, td.SpanCount())
	encodeFailed := 0
	pos := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				doc, err := encodeSpan(rs.Resource(), ss.Scope(), span)
				if err != nil {
					encodeFailed++
					e.dropUnencodable(ctx, "span", err)
				} else {
					items = append(items, bulkItem{
						index: e.tracesIdx.name(span.StartTimestamp().AsTime()),
						id:    spanDocumentID(span, doc),
						doc:   doc,
						pos:   pos,
					})
				}
				pos++
			}
		}
	}
	return e.sendEncoded(ctx, "spans", items, encodeFailed, pos, func(retry map[int]struct{}, err error) error {
		return consumererror.NewTraces(err, selectTraces(td, retry))
	})
}

// selectTraces copies the spans at the given positions into a new ptrace.Traces.
func selectTraces(td ptrace.Traces, keep map[int]struct{}) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	pos := 0
	out.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(ptrace.Span) bool {
				_, ok := keep[pos]
				pos++
				return !ok
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return out
}
