package weirplugin

// Failure is an error that selects how the host treats an event that failed.
type Failure struct {
	// Retry marks a transient fault, which the host retries under the pipeline's retry
	// policy. Otherwise the event is rejected as a poison event: the host sends it to the
	// dead-letter topic or pauses the partition, as the pipeline configures.
	Retry bool
	// Reason is the text the host records.
	Reason string
}

// Error returns the reason.
func (f *Failure) Error() string {
	return f.Reason
}

// Reject returns a Failure that rejects the event as a poison event.
func Reject(reason string) error {
	return &Failure{Reason: reason}
}

// Retry returns a Failure that makes the host retry the event.
func Retry(reason string) error {
	return &Failure{Retry: true, Reason: reason}
}
