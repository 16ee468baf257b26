#!/usr/bin/perl
# One matrix cell with Perl SOAP::Lite's WSDL stub (SOAP::Lite->service):
#   perl soap_lite_call.pl WSDL ENDPOINT 1.1|1.2 CASE   (see run-matrix.sh)
use strict;
use warnings;
use utf8;
use JSON::PP;
use File::Basename qw(dirname);
use SOAP::Lite;

my ($wsdl, $endpoint, $version, $case) = @ARGV;
binmode STDOUT, ':encoding(UTF-8)';
my $E = do {
    local $/;
    open my $f, '<:raw', dirname(__FILE__) . '/../../../tests/clients/expected.json' or die $!;
    JSON::PP->new->utf8->decode(<$f>);
};
sub cell { print "CELL $_[0] $_[1]\n"; exit 0 }
sub many { my $v = shift; return () unless defined $v; return ref $v eq 'ARRAY' ? @$v : ($v) }

# SOAP::Lite must be told the version before the stub is made.
SOAP::Lite->soapversion('1.2') if $version eq '1.2';
my $s = SOAP::Lite->service($wsdl);
$s->proxy($endpoint);
my $key = $case =~ /^bad/ ? 'wrong-key' : $E->{key};
$s->transport->http_request->header('Tenant-Id' => $E->{tenant}, 'Application-Key' => $key);
my $fault;
$s->on_fault(sub { my ($soap, $res) = @_; $fault = ref $res ? $res : undef; die "transport: " . $soap->transport->status . "\n" unless ref $res; return $res });

my $uid = $case =~ /^not-found/ ? $E->{not_found_id} : $case eq 'empty' ? $E->{empty_id} : $E->{found_id};
my @result = eval { $s->GetInteractionFullFlowByUUID($uid) };
cell('red', "error: $@") if $@;
if ($fault) {
    my ($code, $string, $detail) = ($fault->faultcode // '', $fault->faultstring // '', $fault->faultdetail);
    my $note = '';
    if ($code eq '' && ref $fault->fault eq 'HASH' && $fault->fault->{Code}) {
        # SOAP::Lite's faultcode()/faultstring() read only the SOAP 1.1 fault shape.
        my $f = $fault->fault;
        ($code, $string, $detail) = ($f->{Code}{Value} // '', $f->{Reason}{Text} // '', $f->{Detail});
        $note = ' (faultcode()/faultstring() are empty: SOAP::Lite reads only SOAP 1.1 faults; found in ->fault->{Code}, {Reason}, {Detail})';
    }
    $detail = JSON::PP->new->canonical->allow_nonref->encode($detail // '');
    my $seen = "fault code=$code string=$string detail=$detail$note";
    my $color = $note ? 'partial' : 'green';
    if ($case =~ /^bad/ && $string eq $E->{unauthorized}) {
        cell(index($code . $detail, $E->{vendor_code}) >= 0 ? $color : 'partial', $seen);
    }
    cell($color, $seen) if $case =~ /^not-found/ && $string =~ /was not found/;
    cell('red', $seen);
}
my @pages = grep { ref $_ eq 'HASH' && exists $_->{pageNavigation} } @result;
if ($case eq 'found') {
    my (@titles, @values, @images);
    for my $p (@pages) {
        push @titles, $p->{pageNavigation}{navigationTitle};
        for my $sec (many($p->{pageContent}{contentSections})) {
            for my $c (many($sec->{sectionChoices})) {
                push @values, $c->{choiceValue} // '';
                push @images, map { $_->{imagePath} } many($c->{uploadImageList}{images}) if ref $c->{uploadImageList};
            }
        }
    }
    my $ok = join('|', @titles) eq join('|', @{ $E->{titles} }) && (grep { $_ eq $E->{damage} } @values)
        && (grep { $_ eq $E->{serial} } @values) && join('|', @images) eq join('|', @{ $E->{images} });
    cell($ok ? 'green' : 'red', scalar(@pages) . ' pages (list context), titles/inputs/photos ' . ($ok ? 'intact' : 'WRONG: ' . join('|', @titles)));
}
if ($case eq 'empty') {
    cell(@pages ? 'red' : 'green', 'no pages, no error (result ' . (defined $result[0] ? "'$result[0]'" : 'undef') . ')');
}
if ($case =~ /^not-found/) {
    my $text = defined $result[0] && !ref $result[0] ? $result[0] : '';
    cell($text eq $E->{not_found_text} ? 'green' : 'partial', "result '" . ($text // '') . "' (the uniqueId text of the not-found element)");
}
cell('red', 'no fault');
