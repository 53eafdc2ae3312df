package elasticsearchexporter

import (
	"context"
	"fmt"
	"iter"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// The push path. Both signals go through export; what stays per signal is
// what the pdata types force: walking the batch (logItems, spanItems), and
// rebuilding the batch of the records to retry (selectLogs, selectTraces)
// typed for consumererror.NewLogs / NewTraces.

func (e *esExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	return e.export(ctx, ld.LogRecordCount(), e.logItems(ld), func(keep map[int]struct{}, err error) error {
		return consumererror.NewLogs(err, selectLogs(ld, keep))
	})
}

func (e *esExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	return e.export(ctx, td.SpanCount(), e.spanItems(td), func(keep map[int]struct{}, err error) error {
		return consumererror.NewTraces(err, selectTraces(td, keep))
	})
}

// export indexes one batch. records yields, in batch order, each record's
// bulk item or the error that kept it from becoming a document; n is the
// record count (a capacity hint). retryAs rebuilds the batch of the positions
// to retry, typed for the signal, so exporterhelper retries only those.
func (e *esExporter) export(ctx context.Context, n int, records iter.Seq2[bulkItem, error],
	retryAs func(keep map[int]struct{}, err error) error) error {
	items := make([]bulkItem, 0, n)
	encodeFailed, pos := 0, 0
	for item, err := range records {
		if err != nil {
			encodeFailed++
			e.tel.addFailedDocs(ctx, "encoding_error", 1)
			e.logger.Error("could not encode a "+e.signal.item+"; it is dropped", zap.Error(err))
		} else {
			item.pos = pos
			items = append(items, item)
		}
		pos++
	}
	if len(items) == 0 {
		if encodeFailed > 0 {
			return consumererror.NewPermanent(fmt.Errorf("no %s could be encoded", e.signal.items))
		}
		return nil
	}
	sum, err := e.sendBulk(ctx, items)
	if err != nil {
		return err
	}
	return finish(sum, encodeFailed, pos, func(err error) error {
		return retryAs(sum.retryPos, err)
	})
}

// logItems yields the bulk item of every log record of ld.
func (e *esExporter) logItems(ld plog.Logs) iter.Seq2[bulkItem, error] {
	return func(yield func(bulkItem, error) bool) {
		dynamicID := e.cfg.LogsDynamicID.Enabled
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					doc, err := encodeLog(rl.Resource(), sl.Scope(), lr, dynamicID)
					if err != nil {
						if !yield(bulkItem{}, err) {
							return
						}
						continue
					}
					if !yield(bulkItem{
						index: e.logsIdx.name(logTimestamp(lr)),
						id:    logDocumentID(lr, doc, dynamicID),
						doc:   doc,
					}, nil) {
						return
					}
				}
			}
		}
	}
}

// spanItems yields the bulk item of every span of td.
func (e *esExporter) spanItems(td ptrace.Traces) iter.Seq2[bulkItem, error] {
	return func(yield func(bulkItem, error) bool) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					doc, err := encodeSpan(rs.Resource(), ss.Scope(), span)
					if err != nil {
						if !yield(bulkItem{}, err) {
							return
						}
						continue
					}
					if !yield(bulkItem{
						index: e.tracesIdx.name(span.StartTimestamp().AsTime()),
						id:    spanDocumentID(span, doc),
						doc:   doc,
					}, nil) {
						return
					}
				}
			}
		}
	}
}

// dropAllBut returns a RemoveIf predicate for the records of a batch, called
// in batch order: it removes every record whose position is not in keep.
func dropAllBut[T any](keep map[int]struct{}) func(T) bool {
	pos := 0
	return func(T) bool {
		_, ok := keep[pos]
		pos++
		return !ok
	}
}

// selectLogs copies the records at the given positions into a new plog.Logs.
func selectLogs(ld plog.Logs, keep map[int]struct{}) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	drop := dropAllBut[plog.LogRecord](keep)
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(drop)
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}

// selectTraces copies the spans at the given positions into a new ptrace.Traces.
func selectTraces(td ptrace.Traces, keep map[int]struct{}) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	drop := dropAllBut[ptrace.Span](keep)
	out.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(drop)
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return out
}
