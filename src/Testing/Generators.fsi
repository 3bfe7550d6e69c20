namespace Otlp.Testing
