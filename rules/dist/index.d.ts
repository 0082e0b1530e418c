export declare const ALERT_PREFIX = "CalicoLicense";
