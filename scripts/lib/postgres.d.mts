/** The folder of initdb and postgres (LM_POSTGRES_BIN, Debian's package, pg_config); undefined without any. */
export declare function postgresBinDir(): string | undefined;
