use std::collections::VecDeque;

/// The acknowledgements of one batch's outputs, checked without blocking.
pub(crate) trait Acknowledgements {
    /// Returns whether every output has been acknowledged. May send failed outputs again.
    fn poll_acknowledged(&mut self) -> bool;

    /// Corrects the batch's counts once it is acknowledged, for outputs that turned into
    /// dead letters or were skipped after the batch was handed over.
    fn correct(&self, _summary: &mut Acknowledged) {}
}

/// What a removed run of batches adds up to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acknowledged {
    /// The last source offset of the run that is safe to commit, if the run settled any event.
    pub(crate) last_offset: Option<i64>,
    pub(crate) handled: u64,
    pub(crate) outputs: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) skipped: u64,
}

struct InFlightBatch<A> {
    summary: Acknowledged,
    acknowledgements: A,
    acknowledged: bool,
}

/// Batches of one partition whose outputs are sent but not all acknowledged, in offset order.
///
/// Batches may be acknowledged in any order, but only the acknowledged prefix leaves the
/// window, so the offset it reports is the contiguous low watermark: an offset is never
/// reported while an earlier batch still waits.
pub(crate) struct InFlightWindow<A> {
    batches: VecDeque<InFlightBatch<A>>,
    capacity: usize,
}

impl<A: Acknowledgements> InFlightWindow<A> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            batches: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Tells whether the window contains as many batches as it may.
    pub(crate) fn is_full(&self) -> bool {
        self.batches.len() >= self.capacity
    }

    /// Adds the next batch of the partition.
    pub(crate) fn push(&mut self, summary: Acknowledged, acknowledgements: A) {
        self.batches.push_back(InFlightBatch {
            summary,
            acknowledgements,
            acknowledged: false,
        });
    }

    /// Polls every batch and removes the acknowledged prefix. Returns what the prefix adds
    /// up to, or `None` when the oldest batch still waits.
    pub(crate) fn take_acknowledged(&mut self) -> Option<Acknowledged> {
        for batch in &mut self.batches {
            if !batch.acknowledged {
                batch.acknowledged = batch.acknowledgements.poll_acknowledged();
            }
        }

        let mut total: Option<Acknowledged> = None;
        while self.batches.front().is_some_and(|batch| batch.acknowledged) {
            let Some(mut batch) = self.batches.pop_front() else {
                break;
            };
            batch.acknowledgements.correct(&mut batch.summary);
            let sum = total.get_or_insert_with(Acknowledged::default);
            sum.last_offset = batch.summary.last_offset.or(sum.last_offset);
            sum.handled += batch.summary.handled;
            sum.outputs += batch.summary.outputs;
            sum.dead_lettered += batch.summary.dead_lettered;
            sum.skipped += batch.summary.skipped;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    /// Acknowledged once the shared flag is set.
    struct Flag(Rc<Cell<bool>>);

    impl Acknowledgements for Flag {
        fn poll_acknowledged(&mut self) -> bool {
            self.0.get()
        }
    }

    fn batch(last_offset: i64, handled: u64) -> Acknowledged {
        Acknowledged {
            last_offset: Some(last_offset),
            handled,
            outputs: handled,
            ..Acknowledged::default()
        }
    }

    #[test]
    fn out_of_order_acks_commit_low_watermark() {
        let mut window = InFlightWindow::new(3);
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
        window.push(batch(9, 10), Flag(Rc::clone(&flags[0])));
        window.push(batch(19, 10), Flag(Rc::clone(&flags[1])));
        window.push(batch(29, 10), Flag(Rc::clone(&flags[2])));
        assert!(window.is_full());

        // The second and third batches are acknowledged first: nothing may be committed.
        flags[1].set(true);
        flags[2].set(true);
        assert_eq!(window.take_acknowledged(), None);
        assert!(
            window.is_full(),
            "acknowledged batches wait behind the oldest"
        );

        // Once the first is acknowledged, all three leave together.
        flags[0].set(true);
        let acknowledged = window
            .take_acknowledged()
            .expect("the prefix is acknowledged");
        assert_eq!(acknowledged.last_offset, Some(29));
        assert_eq!(acknowledged.handled, 30);
        assert!(window.is_empty());
    }

    #[test]
    fn prefix_stops_at_first_waiting_batch() {
        let mut window = InFlightWindow::new(4);
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
        for (index, flag) in flags.iter().enumerate() {
            window.push(batch(index as i64 * 10 + 9, 10), Flag(Rc::clone(flag)));
        }

        flags[0].set(true);
        flags[2].set(true);
        let acknowledged = window
            .take_acknowledged()
            .expect("the first batch is acknowledged");
        assert_eq!(acknowledged.last_offset, Some(9));
        assert_eq!(
            window.take_acknowledged(),
            None,
            "the second batch still waits"
        );

        flags[1].set(true);
        assert_eq!(
            window.take_acknowledged().and_then(|a| a.last_offset),
            Some(29)
        );
    }

    #[test]
    fn batch_without_settled_events_keeps_offset() {
        let mut window = InFlightWindow::new(2);
        window.push(batch(9, 10), Flag(Rc::new(Cell::new(true))));
        // A batch that paused at its first event settles nothing and moves no offset.
        window.push(Acknowledged::default(), Flag(Rc::new(Cell::new(true))));

        let acknowledged = window.take_acknowledged().expect("both are acknowledged");
        assert_eq!(acknowledged.last_offset, Some(9));
        assert_eq!(acknowledged.handled, 10);
    }
}
