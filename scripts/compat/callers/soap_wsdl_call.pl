#!/usr/bin/perl
# One matrix cell with the Perl SOAP::WSDL classes that wsdl2perl generated from the served WSDL
# (SOAP 1.1 only):  perl -I GENERATED/lib soap_wsdl_call.pl WSDL ENDPOINT 1.1 CASE   (see run-matrix.sh)
use strict;
use warnings;
use JSON::PP;
use File::Basename qw(dirname);
use IxGwInterfaces::InteractionDataService::InteractionDataSoap11;

my ($wsdl, $endpoint, $version, $case) = @ARGV;
binmode STDOUT, ':encoding(UTF-8)';
my $E = do {
    local $/;
    open my $f, '<:raw', dirname(__FILE__) . '/../../../tests/clients/expected.json' or die $!;
    JSON::PP->new->utf8->decode(<$f>);
};
sub cell { print "CELL $_[0] $_[1]\n"; exit 0 }
sub many { my $v = shift; return () unless defined $v; return ref $v eq 'ARRAY' ? @$v : ($v) }

my $iface = IxGwInterfaces::InteractionDataService::InteractionDataSoap11->new({ proxy => $endpoint });
my $key = $case =~ /^bad/ ? 'wrong-key' : $E->{key};
# The transport is an LWP::UserAgent.
$iface->get_transport->default_header('Tenant-Id' => $E->{tenant}, 'Application-Key' => $key);

my $uid = $case =~ /^not-found/ ? $E->{not_found_id} : $case eq 'empty' ? $E->{empty_id} : $E->{found_id};
my $r = eval { $iface->GetInteractionFullFlowByUUID({ uniqueId => $uid }) };
cell('red', "error: $@") if $@;
if (!$r) {
    # A SOAP::WSDL::SOAP::Typelib::Fault11 (false in boolean context).
    my ($code, $string, $detail) = map { defined $_ ? "$_" : '' } ($r->get_faultcode, $r->get_faultstring, $r->get_detail);
    my $seen = "Fault11 code=$code string=$string" . ($detail ne '' ? " detail=$detail" : '');
    $seen =~ s/\s+/ /g;
    if ($string =~ /^Error deserializing message: (Cannot resolve class for \S+)/) {
        # SOAP::WSDL's own fault: it could not map the reply (see docs/COMPATIBILITY.md).
        cell('red', "Fault11 code=$code string='Error deserializing message: $1 via the typemap' (synthesized by SOAP::WSDL; the real fault is only quoted inside it)");
    }
    if ($case =~ /^bad/ && $string eq $E->{unauthorized}) {
        cell(index($code . $detail, $E->{vendor_code}) >= 0 ? 'green' : 'partial', $seen);
    }
    cell('green', $seen) if $case =~ /^not-found/ && $string =~ /was not found/;
    cell('red', $seen);
}
my $class = ref $r;
if ($class =~ /GetInteractionUniqueIdResponse$/) {
    my $text = $r->get_uniqueId;
    cell($case =~ /^not-found/ && "$text" eq $E->{not_found_text} ? 'green' : 'red', "a $class object, get_uniqueId '$text'");
}
my @pages = many($r->get_page);
if ($case eq 'found') {
    my (@titles, @values, @images);
    for my $p (@pages) {
        push @titles, '' . $p->get_pageNavigation->get_navigationTitle;
        for my $sec (many($p->get_pageContent->get_contentSections)) {
            for my $c (many($sec->get_sectionChoices)) {
                push @values, '' . $c->get_choiceValue;
                my $u = $c->get_uploadImageList;
                push @images, map { '' . $_->get_imagePath } many($u->get_images) if $u;
            }
        }
    }
    my $ok = join('|', @titles) eq join('|', @{ $E->{titles} }) && (grep { $_ eq $E->{damage} } @values)
        && (grep { $_ eq $E->{serial} } @values) && join('|', @images) eq join('|', @{ $E->{images} });
    cell($ok ? 'green' : 'red', scalar(@pages) . " pages in a $class, titles/inputs/photos " . ($ok ? 'intact' : 'WRONG: ' . join('|', @titles)));
}
cell(@pages ? 'red' : 'green', "a $class without pages, no error") if $case eq 'empty';
cell('red', "no fault: a $class");
