// The receiver package: Alertmanager webhook → Slack, email and tickets (see the receiver issue).
export const DEFAULT_RECEIVER_PORT = 9095;
