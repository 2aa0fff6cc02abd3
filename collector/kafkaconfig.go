package collector

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/riskwatch/riskwatch/config"
)

// KafkaFromConfig turns a validated [[kafka]] table into source options:
// it reads the TLS files it names and builds the SASL mechanism. Errors
// name the table's topic and the file or key at fault, never the password.
func KafkaFromConfig(k config.Kafka) (KafkaOptions, error) {
	o := KafkaOptions{Brokers: k.Brokers, Topic: k.Topic, Group: k.Group,
		InstanceID: k.InstanceID, SessionTimeout: k.SessionTimeout.D()}
	if k.TLS {
		tc, err := kafkaTLS(k)
		if err != nil {
			return KafkaOptions{}, fmt.Errorf("kafka topic %s: %w", k.Topic, err)
		}
		o.TLS = tc
	}
	m, err := kafkaSASL(k)
	if err != nil {
		return KafkaOptions{}, fmt.Errorf("kafka topic %s: %w", k.Topic, err)
	}
	o.SASL = m
	return o, nil
}

func kafkaTLS(k config.Kafka) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: k.TLSServerName}
	if k.TLSCA != "" {
		pem, err := os.ReadFile(k.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("tls_ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca %s: no PEM certificate in it", k.TLSCA)
		}
	}
	if k.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(k.TLSCert, k.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls_cert and tls_key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func kafkaSASL(k config.Kafka) (sasl.Mechanism, error) {
	user, pass := k.SASLUser, k.SASLPassword.Value()
	switch k.SASLMechanism {
	case "":
		return nil, nil
	case "plain":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("sasl_mechanism: want plain, scram-sha-256 or scram-sha-512, got %q", k.SASLMechanism)
}
