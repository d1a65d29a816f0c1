module redact-customer-go

go 1.26
