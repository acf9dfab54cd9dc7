#!/usr/bin/perl
# e2e translation layer: MySQL 8.4 SQL in, MariaDB 10.11 SQL out (stdin to stdout). Used by the `mysql` shims of
# the mysql:8.4 and percona-xtrabackup:8.4 image emulations (test/e2e/images/mysql84*/); README.md, section
# "production profile (MySQL 8.4)", lists every rule and its fidelity cost.
#
# 1. Rejects what MySQL 8.4 rejects and MariaDB would accept, so the translation can never hide a statement that
#    fails on 8.4: CHANGE MASTER, START/STOP/RESET SLAVE, SHOW SLAVE STATUS/HOSTS, SHOW MASTER STATUS, RESET MASTER,
#    any MASTER_* option, MariaDB's gtid_*_pos variables. Exit 1 with a MySQL-style ERROR 1064 and nothing runs.
# 2. Translates, outside string literals, comments and quoted identifiers only:
#      CHANGE REPLICATION SOURCE TO SOURCE_x=…  -> CHANGE MASTER TO MASTER_x=…
#      SOURCE_AUTO_POSITION=1 / 0              -> MASTER_USE_GTID=current_pos / no (every transaction it has)
#      RESET BINARY LOGS AND GTIDS              -> RESET MASTER
#      SET GLOBAL gtid_purged='<uuid>:1-N,…'    -> SET GLOBAL gtid_slave_pos='D-S-N,…', gtid_binlog_state (the inverse of the
#                                                  xtrabackup 8.4 emulation's mapping, see below)
#      SET GLOBAL super_read_only = ON|OFF,
#      SET GLOBAL read_only = OFF               -> CALL mysql.e2e_set_read_only(1|0) (a definer procedure the
#                                                  mysqld shim creates on every server: sets read_only and revokes
#                                                  or grants back root's READ_ONLY ADMIN)
#      WAIT_FOR_EXECUTED_GTID_SET('<set>', N)   -> IF(MASTER_GTID_WAIT('D-S-N', N) = 0, 0, 1)
#      other super_read_only                    -> read_only
#      GTID_SUBSET(@@GLOBAL.gtid_executed, '<set>')
#                                               -> a per-domain comparison of @@GLOBAL.gtid_current_pos with the
#                                                  mapped set (MariaDB has neither the function nor the variable)
#      @@GLOBAL.gtid_executed (read)            -> per (domain, server) the highest of gtid_binlog_state and
#                                                  gtid_slave_pos, mapped to a MySQL GTID set
#      GTID_SUBSET('<set>', '<set>')            -> 1 or 0, decided here on the mapped sets, per (domain, server)
#      SHOW BINARY LOG STATUS                   -> SHOW BINLOG STATUS
#      rpl_semi_sync_source_{enabled,timeout,wait_point,wait_no_replica}, rpl_semi_sync_replica_enabled (SET GLOBAL
#      or @@ reads)                             -> rpl_semi_sync_master_{…,wait_no_slave}, rpl_semi_sync_slave_enabled
#                                                  (MariaDB's built-in semi-sync); any other rpl_semi_sync_* name
#                                                  is refused (not emulated)
#      ALTER INSTANCE RELOAD TLS                -> FLUSH NO_WRITE_TO_BINLOG SSL (re-reads the certificate files;
#                                                  neither is written to the binary log)
#      GRANT …, BACKUP_ADMIN, … ON *.*          -> the same without BACKUP_ADMIN (MariaDB has no such privilege)
#      GRANT …, REPLICATION CLIENT, … ON *.*    -> the same plus SLAVE MONITOR (8.4's REPLICATION CLIENT allows
#                                                  SHOW REPLICA STATUS; MariaDB's is only BINLOG MONITOR)
#      GRANT SELECT ON performance_schema.{log_status,keyring_component_status,replication_group_members}
#                                               -> DO 0 (the tables do not exist in MariaDB)
#      CREATE/ALTER USER … IDENTIFIED BY '<pw>' -> IDENTIFIED BY PASSWORD '<hash>' (MySQL 8.4 writes the hashed
#                                                  form to the binary log; MariaDB would log the plain text)
# 3. GTID mapping (reversible): MariaDB GTID D-S-N (domain, server_id, sequence) <-> MySQL GTID set
#    "<DDDDDDDD>-e2e0-4db0-8000-<SSSSSSSSSSSS>:1-N" (domain and server_id in hex). A set with any other UUID or with
#    gaps is rejected: it cannot have come from the emulation. Several UUIDs of one domain (after a switchover the
#    new primary continues the domain's sequence under its own server id) map to the highest element.
# 4. With --replica-status-output it is instead a filter for the server's answer to SHOW REPLICA STATUS: field
#    names get MySQL 8.4's words (Master -> Source, Slave -> Replica: Replica_IO_Running, Seconds_Behind_Source,
#    Source_Host, …), in vertical (\G, -E) output and in a tab-separated header line; values are untouched.
# Each applied rule is reported on stderr by name only (never with a literal: literals may hold passwords).
use strict;
use warnings;
use Digest::SHA qw(sha1 sha1_hex);

if (@ARGV && $ARGV[0] eq '--replica-status-output') {
  my $header = 1;
  while (my $l = <STDIN>) {
    if ($l =~ /^(\s*)(\w+)(: )/) {
      my ($lead, $name, $sep) = ($1, $2, $3);
      (my $renamed = $name) =~ s/Master/Source/g;
      $renamed =~ s/Slave/Replica/g;
      $l = $lead . $renamed . $sep . substr($l, length($lead) + length($name) + length($sep));
    } elsif ($header && $l =~ /\t/ && $l =~ /Slave_IO_Running|Master_Host/) {
      $l =~ s/Master/Source/g;
      $l =~ s/Slave/Replica/g;
    }
    $header = 0 if $l !~ /^\*+/;
    print $l;
  }
  exit 0;
}

local $/;
my $input = <STDIN>;
$input = '' unless defined $input;

my @literals;    # decoded values of the string literals, by index
my @raw;         # raw text of every protected token, by index
my @notes;

# Protect string literals, quoted identifiers and comments: replace each by "\x01<n>\x01".
my $skel = '';
pos($input) = 0;
while (pos($input) < length $input) {
  if ($input =~ /\G('(?:[^'\\]|\\.|'')*')/gcs) {
    push @raw, $1;
    push @literals, decode_single($1);
    $skel .= "\x01" . $#raw . "\x01";
  } elsif ($input =~ /\G("(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|\/\*.*?\*\/|(?:--[ \t]|#)[^\n]*)/gcs) {
    push @raw, $1;
    push @literals, undef;
    $skel .= "\x01" . $#raw . "\x01";
  } elsif ($input =~ /\G([^'"`\/#-]+|.)/gcs) {
    $skel .= $1;
  }
}

sub decode_single {
  my ($lit) = @_;
  $lit = substr($lit, 1, -1);
  $lit =~ s/''/'/g;
  my %esc = (n => "\n", t => "\t", r => "\r", 0 => "\0", b => "\b", Z => "\x1a");
  $lit =~ s/\\(.)/exists $esc{$1} ? $esc{$1} : ($1 eq '%' || $1 eq '_') ? "\\$1" : $1/ges;
  return $lit;
}

sub literal_at {
  my ($token) = @_;
  return undef unless defined $token && $token =~ /^\x01(\d+)\x01$/;
  return $literals[$1];
}

sub fail {
  my ($line, $what) = @_;
  print STDERR "ERROR 1064 (42000) at line $line: You have an error in your SQL syntax; $what "
    . "(e2e mysql84 shim: MySQL 8.4 rejects this, so the translation layer does too)\n";
  exit 1;
}

sub cannot {
  my ($line, $what) = @_;
  print STDERR "ERROR 1064 (42000) at line $line: e2e mysql84 shim cannot translate this to MariaDB: $what\n";
  exit 1;
}

sub note {
  my ($n) = @_;
  push @notes, $n unless grep { $_ eq $n } @notes;
}

sub to_mariadb_gtid {
  my ($set, $line) = @_;
  (my $s = $set) =~ s/\s+//g;
  return '' if $s eq '';
  my %domains;
  for my $part (split /,/, $s) {
    my ($uuid, @intervals) = split /:/, $part;
    $uuid = lc($uuid // '');
    if ($uuid !~ /^([0-9a-f]{8})-e2e0-4db0-8000-([0-9a-f]{12})$/) {
      cannot($line, "GTID set element '$part' has a UUID the e2e mapping did not produce");
    }
    my ($domain, $server) = (hex $1, hex $2);
    if (@intervals != 1 || $intervals[0] !~ /^1(?:-(\d+))?$/) {
      cannot($line, "GTID set element '$part' is not one interval starting at 1 (not mappable to MariaDB)");
    }
    my $seq = defined $1 ? $1 : 1;
    # One domain's servers share its sequence (a primary that took over continues it): the position of the
    # domain is its highest element.
    $domains{$domain} = [$server, $seq] if !exists $domains{$domain} || $domains{$domain}[1] < $seq;
  }
  return join ',', map { "$_-$domains{$_}[0]-$domains{$_}[1]" } sort { $a <=> $b } keys %domains;
}

# gtid_pairs(SET): "domain-server" -> highest sequence number, from a MySQL GTID set the mapping produced (any
# number of UUIDs per domain; each one interval 1-N).
sub gtid_pairs {
  my ($set, $line) = @_;
  (my $s = $set) =~ s/\s+//g;
  my %pairs;
  for my $part (grep { $_ ne '' } split /,/, $s) {
    my ($uuid, @intervals) = split /:/, $part;
    $uuid = lc($uuid // '');
    cannot($line, "GTID set element '$part' has a UUID the e2e mapping did not produce")
      if $uuid !~ /^([0-9a-f]{8})-e2e0-4db0-8000-([0-9a-f]{12})$/;
    my $key = hex($1) . '-' . hex($2);
    cannot($line, "GTID set element '$part' is not one interval starting at 1")
      if @intervals != 1 || $intervals[0] !~ /^1(?:-(\d+))?$/;
    my $n = defined $1 ? $1 : 1;
    $pairs{$key} = $n if !exists $pairs{$key} || $pairs{$key} < $n;
  }
  return %pairs;
}

sub native_hash {
  my ($password) = @_;
  return '*' . uc sha1_hex(sha1($password));
}

my @removed = (
  [qr/\bCHANGE\s+MASTER\b/i,                     "'CHANGE MASTER' was removed in MySQL 8.4 (CHANGE REPLICATION SOURCE TO)"],
  [qr/\b(?:START|STOP|RESET)\s+SLAVE\b/i,         "'START/STOP/RESET SLAVE' was removed in MySQL 8.4 (… REPLICA)"],
  [qr/\bSHOW\s+SLAVE\s+(?:STATUS|HOSTS)\b/i,      "'SHOW SLAVE STATUS/HOSTS' was removed in MySQL 8.4 (SHOW REPLICA STATUS)"],
  [qr/\bSHOW\s+MASTER\s+STATUS\b/i,               "'SHOW MASTER STATUS' was removed in MySQL 8.4 (SHOW BINARY LOG STATUS)"],
  [qr/\bRESET\s+MASTER\b/i,                       "'RESET MASTER' was removed in MySQL 8.4 (RESET BINARY LOGS AND GTIDS)"],
  [qr/\bMASTER_[A-Z_]+\s*=/i,                     "MASTER_* options were removed in MySQL 8.4 (SOURCE_*)"],
  [qr/\bgtid_(?:slave|binlog|current)_pos\b/i,    "gtid_*_pos are MariaDB variables, unknown to MySQL 8.4"],
  [qr/\bMASTER_USE_GTID\b/i,                      "MASTER_USE_GTID is MariaDB syntax"],
);
my %source_opts = map { $_ => 1 }
  qw(HOST PORT USER PASSWORD CONNECT_RETRY RETRY_COUNT LOG_FILE LOG_POS SSL SSL_CA SSL_CERT SSL_KEY
  SSL_VERIFY_SERVER_CERT HEARTBEAT_PERIOD DELAY);
my %ps_tables = map { $_ => 1 } qw(log_status keyring_component_status replication_group_members);

# Statements: split on ';' outside protected tokens; keep the separators.
my @parts = split /(;)/, $skel, -1;
my $line = 1;
my $out = '';
for my $stmt (@parts) {
  my $start_line = $line + (() = ($stmt =~ /^(\s*)/)[0] =~ /\n/g);
  for my $r (@removed) {
    fail($start_line, $r->[1]) if $stmt =~ $r->[0];
  }
  if ($stmt =~ /^\s*CHANGE\s+REPLICATION\s+SOURCE\s+TO\b/i) {
    $stmt =~ s/^(\s*)CHANGE\s+REPLICATION\s+SOURCE\s+TO\b/$1CHANGE MASTER TO/i;
    note('CHANGE REPLICATION SOURCE TO -> CHANGE MASTER TO');
    # MySQL's auto-position asks from gtid_executed, every transaction the server has, its own writes included (a
    # former primary rejoining); MariaDB's current_pos is that (the newer of its binlog and replica positions).
    $stmt =~ s{\bSOURCE_AUTO_POSITION\s*=\s*([01])\b}{
      note("SOURCE_AUTO_POSITION=$1 -> MASTER_USE_GTID=" . ($1 ? 'current_pos' : 'no'));
      'MASTER_USE_GTID=' . ($1 ? 'current_pos' : 'no')
    }gie;
    while ($stmt =~ /\b(SOURCE_([A-Z_]+))\s*=/gi) {
      cannot($start_line, "option $1 is not emulated by the e2e translation") unless $source_opts{uc $2};
    }
    # MySQL 8.4 changes SOURCE_PASSWORD with only the receiver stopped; MariaDB's CHANGE MASTER needs the applier
    # stopped too (ERROR 1198): a password-only change stops and restarts the SQL thread around it.
    my $password_only = $stmt =~ /^\s*CHANGE\s+MASTER\s+TO\s+SOURCE_PASSWORD\s*=\s*\x01\d+\x01\s*$/i;
    $stmt =~ s/\bSOURCE_([A-Z_]+)(\s*=)/MASTER_$1$2/gi;
    note('SOURCE_* -> MASTER_*');
    if ($password_only) {
      $stmt =~ s/^(\s*)(.*?)(\s*)$/$1STOP SLAVE SQL_THREAD; $2; START SLAVE SQL_THREAD$3/s;
      note('CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=… -> STOP SLAVE SQL_THREAD; CHANGE MASTER TO MASTER_PASSWORD=…; START SLAVE SQL_THREAD');
    }
    cannot($start_line, 'GET_SOURCE_PUBLIC_KEY / PRIVILEGE_CHECKS_USER etc. are not emulated')
      if $stmt =~ /\b(?:GET_SOURCE_PUBLIC_KEY|PRIVILEGE_CHECKS_USER|REQUIRE_ROW_FORMAT|ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS)\b/i;
  }
  if ($stmt =~ s/\bRESET\s+BINARY\s+LOGS\s+AND\s+GTIDS\b/RESET MASTER/i) {
    note('RESET BINARY LOGS AND GTIDS -> RESET MASTER');
  }
  if ($stmt =~ /\bgtid_purged\b/i) {
    if ($stmt =~ /^(\s*SET\s+(?:GLOBAL\s+|\@\@GLOBAL\.))gtid_purged(\s*=\s*)(\x01\d+\x01)(\s*)$/i) {
      my ($head, $eq, $tok, $tail) = ($1, $2, $3, $4);
      my $set = literal_at($tok);
      fail($start_line, 'gtid_purged needs a string literal') unless defined $set;
      cannot($start_line, "'+' (append) GTID sets are not emulated") if $set =~ /^\s*\+/;
      my $pos = to_mariadb_gtid($set, $start_line);
      push @raw, "'$pos'";
      push @literals, $pos;
      # Also the binlog state (settable right after RESET MASTER): a primary rebuilt from a replica's backup
      # then continues the domain's sequence, and replicas at that position can connect to it.
      $stmt = "${head}gtid_slave_pos$eq\x01$#raw\x01, GLOBAL gtid_binlog_state = \x01$#raw\x01$tail";
      note("SET GLOBAL gtid_purged='<uuid>:1-N' -> SET GLOBAL gtid_slave_pos='D-S-N', gtid_binlog_state='D-S-N'");
    } elsif ($stmt !~ /\@\@(?:GLOBAL\.)?gtid_purged\b/i) {
      cannot($start_line, 'only SET GLOBAL gtid_purged=<literal> and reading @@gtid_purged are emulated');
    }
  }
  # GTID_SUBSET(@@GLOBAL.gtid_executed, '<set>'): MariaDB has neither; its gtid_current_pos (per domain the
  # newer of the binlog and the replica position) stands for gtid_executed, and "subset" means: every domain of it
  # is in the mapped set with a sequence number no higher.
  $stmt =~ s{\bGTID_SUBSET\s*\(\s*\@\@(?:GLOBAL\.)?gtid_executed\s*,\s*(\x01\d+\x01)\s*\)}{
    my $set = literal_at($1);
    cannot($start_line, 'GTID_SUBSET needs a string literal') unless defined $set;
    my $pos = to_mariadb_gtid($set, $start_line);
    my @conds = map {
      my ($d, undef, $n) = split /-/;
      "(SUBSTRING_INDEX(t.g, '-', 1) = '$d' AND CAST(SUBSTRING_INDEX(t.g, '-', -1) AS UNSIGNED) <= $n)"
    } grep { $_ ne '' } split /,/, $pos;
    my $cond = @conds ? join(' OR ', @conds) : 'FALSE';
    note("GTID_SUBSET(\@\@GLOBAL.gtid_executed, '<set>') -> per-domain comparison with \@\@GLOBAL.gtid_current_pos");
    "(SELECT COUNT(*) = 0 FROM JSON_TABLE(CONCAT('[\"', REPLACE(\@\@GLOBAL.gtid_current_pos, ',', '\",\"'), '\"]'), "
      . "'\$[*]' COLUMNS (g VARCHAR(64) PATH '\$')) AS t WHERE t.g <> '' AND NOT ($cond))"
  }gie;
  # GTID_SUBSET('<set>', '<set>'), both literals: decided here on the mapped sets, per (domain, server) pair.
  $stmt =~ s{\bGTID_SUBSET\s*\(\s*(\x01\d+\x01)\s*,\s*(\x01\d+\x01)\s*\)}{
    my ($a, $b) = (literal_at($1), literal_at($2));
    cannot($start_line, 'GTID_SUBSET needs string literals') unless defined $a && defined $b;
    my %have = gtid_pairs($b, $start_line);
    my %need = gtid_pairs($a, $start_line);
    my $subset = 1;
    for my $k (keys %need) {
      $subset = 0 unless exists $have{$k} && $have{$k} >= $need{$k};
    }
    note("GTID_SUBSET('<set>', '<set>') -> decided by the shim per (domain, server)");
    $subset
  }gie;
  # Reading @@GLOBAL.gtid_executed: per (domain, server) the highest sequence number in MariaDB's
  # gtid_binlog_state and gtid_slave_pos, each mapped to "<D as 8 hex>-e2e0-4db0-8000-<S as 12 hex>:1-N",
  # joined with ','. (Unlike gtid_current_pos, gtid_binlog_state keeps one GTID per server, so a transaction
  # written on a replica stays visible as its own element, as its own UUID would in MySQL.)
  $stmt =~ s{\@\@(?:GLOBAL\.)?gtid_executed\b}{
    note('@@GLOBAL.gtid_executed -> gtid_binlog_state + gtid_slave_pos mapped to a MySQL GTID set');
    "(SELECT IFNULL(GROUP_CONCAT(CONCAT(LPAD(LOWER(HEX(x.d)), 8, '0'), '-e2e0-4db0-8000-', LPAD(LOWER(HEX(x.s)), 12, '0'), "
      . "IF(x.n = 1, ':1', CONCAT(':1-', x.n))) ORDER BY x.d, x.s SEPARATOR ','), '') FROM ("
      . "SELECT CAST(SUBSTRING_INDEX(t.g, '-', 1) AS UNSIGNED) AS d, "
      . "CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(t.g, '-', 2), '-', -1) AS UNSIGNED) AS s, "
      . "MAX(CAST(SUBSTRING_INDEX(t.g, '-', -1) AS UNSIGNED)) AS n "
      . "FROM JSON_TABLE(CONCAT('[\"', REPLACE(CONCAT(\@\@GLOBAL.gtid_binlog_state, ',', \@\@GLOBAL.gtid_slave_pos), ',', '\",\"'), '\"]'), "
      . "'\$[*]' COLUMNS (g VARCHAR(64) PATH '\$')) AS t WHERE t.g <> '' GROUP BY d, s) AS x)"
  }gie;
  # @@GLOBAL.server_uuid: MariaDB has none; the UUID the GTID mapping gives this server (domain gtid_domain_id,
  # server server_id), so the binlog archiver's S3 folder is named as a MySQL server's would be, one per server.
  $stmt =~ s{\@\@(?:GLOBAL\.)?server_uuid\b}{
    note('@@GLOBAL.server_uuid -> the UUID of the GTID mapping (gtid_domain_id, server_id)');
    "CONCAT(LPAD(LOWER(HEX(\@\@GLOBAL.gtid_domain_id)), 8, '0'), '-e2e0-4db0-8000-', LPAD(LOWER(HEX(\@\@GLOBAL.server_id)), 12, '0'))"
  }gie;
  cannot($start_line, 'GTID_SUBSET is emulated only with @@GLOBAL.gtid_executed or a literal first, a literal second')
    if $stmt =~ /\bGTID_SUBSET\b/i;
  if ($stmt =~ /^(\s*)SET\s+(?:GLOBAL\s+|\@\@GLOBAL\.)(super_read_only|read_only)\s*=\s*(ON|OFF|1|0|TRUE|FALSE)\s*$/i) {
    my ($lead, $var, $value) = ($1, lc $2, $3);
    my $v = ($value =~ /^(?:ON|1|TRUE)$/i) ? 1 : 0;
    # MySQL: super_read_only=ON implies read_only=ON, read_only=OFF implies super_read_only=OFF; the emulation has
    # one state. read_only=ON alone (SUPER users still write) is not emulated.
    cannot($start_line, 'SET GLOBAL read_only = ON (without super_read_only) is not emulated') if $var eq 'read_only' && $v;
    $stmt = "${lead}CALL mysql.e2e_set_read_only($v)";
    note("SET GLOBAL $var = ON|OFF -> CALL mysql.e2e_set_read_only(1|0)");
  }
  # WAIT_FOR_EXECUTED_GTID_SET('<set>', timeout): 0 once applied, 1 on timeout. MariaDB's MASTER_GTID_WAIT waits for
  # the replica position (0, or -1 on timeout).
  $stmt =~ s{\bWAIT_FOR_EXECUTED_GTID_SET\s*\(\s*(\x01\d+\x01)\s*,\s*(\d+)\s*\)}{
    my $set = literal_at($1);
    cannot($start_line, 'WAIT_FOR_EXECUTED_GTID_SET needs a string literal') unless defined $set;
    my $pos = to_mariadb_gtid($set, $start_line);
    push @raw, "'$pos'";
    push @literals, $pos;
    note("WAIT_FOR_EXECUTED_GTID_SET('<set>', N) -> IF(MASTER_GTID_WAIT('D-S-N', N) = 0, 0, 1)");
    "IF(MASTER_GTID_WAIT(\x01$#raw\x01, $2) = 0, 0, 1)"
  }gie;
  note('super_read_only -> read_only') if $stmt =~ s/\bsuper_read_only\b/read_only/gi;
  # Semi-sync (MySQL 8.4's plugins rpl_semi_sync_source / rpl_semi_sync_replica) -> MariaDB's built-in names.
  $stmt =~ s{\brpl_semi_sync_(source|replica)_(\w+)\b}{
    my ($side, $var) = (lc $1, lc $2);
    my %map = (
      'source enabled' => 'rpl_semi_sync_master_enabled',
      'source timeout' => 'rpl_semi_sync_master_timeout',
      'source wait_point' => 'rpl_semi_sync_master_wait_point',
      'source wait_no_replica' => 'rpl_semi_sync_master_wait_no_slave',
      'replica enabled' => 'rpl_semi_sync_slave_enabled',
    );
    cannot($start_line, "rpl_semi_sync_${side}_$var is not emulated") unless $map{"$side $var"};
    note("rpl_semi_sync_${side}_$var -> $map{\"$side $var\"}");
    $map{"$side $var"}
  }gie;
  # ALTER INSTANCE RELOAD TLS (MySQL 8.0.16+) re-reads ssl_ca/ssl_cert/ssl_key and is not written to the binary log;
  # MariaDB's FLUSH SSL (10.4+) re-reads them too but is logged (a GTID of its own on a replica: an errant
  # transaction), hence NO_WRITE_TO_BINLOG. Only the plain form (channel mysql_main, rollback on error) is emulated.
  if ($stmt =~ /^(\s*)ALTER\s+INSTANCE\b/i) {
    my $lead = $1;
    cannot($start_line, 'only ALTER INSTANCE RELOAD TLS is emulated (no FOR CHANNEL, no NO ROLLBACK ON ERROR)')
      unless $stmt =~ /^\s*ALTER\s+INSTANCE\s+RELOAD\s+TLS\s*$/i;
    $stmt = "${lead}FLUSH NO_WRITE_TO_BINLOG SSL";
    note('ALTER INSTANCE RELOAD TLS -> FLUSH NO_WRITE_TO_BINLOG SSL');
  }
  note('SHOW BINARY LOG STATUS -> SHOW BINLOG STATUS')
    if $stmt =~ s/\bSHOW\s+BINARY\s+LOG\s+STATUS\b/SHOW BINLOG STATUS/i;
  if ($stmt =~ /^\s*GRANT\s+SELECT\s+ON\s+performance_schema\.(\w+)\s+TO\b/i && $ps_tables{lc $1}) {
    note("GRANT SELECT ON performance_schema.$1 -> dropped (no such table in MariaDB)");
    $stmt =~ s/^(\s*).*$/$1DO 0/s;
  }
  if ($stmt =~ /^\s*GRANT\b(.*?)\bON\b/is && $1 =~ /\bBACKUP_ADMIN\b/i) {
    $stmt =~ s/\bBACKUP_ADMIN\s*,\s*|,\s*BACKUP_ADMIN\b//i;
    note('GRANT BACKUP_ADMIN -> dropped (MariaDB: BACKUP STAGE needs RELOAD)');
    if ($stmt =~ /^\s*GRANT\s+BACKUP_ADMIN\s+ON\b/i) {
      $stmt =~ s/^(\s*).*$/$1DO 0/s;
    }
  }
  if ($stmt =~ /^\s*GRANT\b(.*?)\bON\b/is && $1 =~ /\bREPLICATION\s+CLIENT\b/i) {
    $stmt =~ s/\bREPLICATION\s+CLIENT\b/REPLICATION CLIENT, SLAVE MONITOR/i;
    note('GRANT REPLICATION CLIENT -> + SLAVE MONITOR (8.4: REPLICATION CLIENT allows SHOW REPLICA STATUS)');
  }
  # Dual passwords (MariaDB has none): ALTER USER on one account with IDENTIFIED BY '<pw>' [RETAIN CURRENT
  # PASSWORD] or DISCARD OLD PASSWORD -> CALL mysql.e2e_alter_password(user, host, '<hash>' | NULL, mode, if_exists),
  # the procedure the mysqld shim creates: it keeps a secondary password as a second authentication method.
  if ($stmt =~ /^(\s*)ALTER\s+USER\s+(IF\s+EXISTS\s+)?(\x01\d+\x01)\s*\@\s*(\x01\d+\x01)\s+(?:IDENTIFIED\s+BY\s+(\x01\d+\x01)(\s+RETAIN\s+CURRENT\s+PASSWORD)?|(DISCARD\s+OLD\s+PASSWORD))\s*$/is) {
    my ($lead, $if_exists, $u, $h, $pw_tok, $retain, $discard) = ($1, $2, $3, $4, $5, $6, $7);
    cannot($start_line, 'ALTER USER needs a quoted user and host') unless defined literal_at($u) && defined literal_at($h);
    my $hash = 'NULL';
    if (defined $pw_tok) {
      my $pw = literal_at($pw_tok);
      fail($start_line, 'IDENTIFIED BY needs a string literal') unless defined $pw;
      push @raw, "'" . native_hash($pw) . "'";
      push @literals, undef;
      $hash = "\x01$#raw\x01";
    }
    my $mode = $discard ? 'discard' : $retain ? 'retain' : 'keep';
    $stmt = "${lead}CALL mysql.e2e_alter_password($u, $h, $hash, '$mode', " . ($if_exists ? 1 : 0) . ')';
    note("ALTER USER … IDENTIFIED BY '<password>' [RETAIN CURRENT PASSWORD] | DISCARD OLD PASSWORD -> CALL mysql.e2e_alter_password(…, '$mode')");
  }
  cannot($start_line, 'RETAIN CURRENT PASSWORD / DISCARD OLD PASSWORD are emulated only for ALTER USER on one quoted account')
    if $stmt =~ /\b(?:RETAIN\s+CURRENT|DISCARD\s+OLD)\s+PASSWORD\b/i;
  if ($stmt =~ /^\s*(?:CREATE|ALTER)\s+USER\b/i) {
    $stmt =~ s{\bIDENTIFIED\s+BY\s+(\x01\d+\x01)}{
      my $pw = literal_at($1);
      fail($start_line, 'IDENTIFIED BY needs a string literal') unless defined $pw;
      push @raw, "'" . native_hash($pw) . "'";
      push @literals, undef;
      note("IDENTIFIED BY '<password>' -> IDENTIFIED BY PASSWORD '<hash>'");
      "IDENTIFIED BY PASSWORD \x01$#raw\x01"
    }gie;
  }
  $line += () = $stmt =~ /\n/g;
  $stmt =~ s/\x01(\d+)\x01/$raw[$1]/g;
  $out .= $stmt;
}
# Protected tokens spanning lines were counted as one line above; only the error line numbers depend on it.
print STDERR 'e2e mysql84 shim: ' . join('; ', @notes) . "\n" if @notes;
print $out;
